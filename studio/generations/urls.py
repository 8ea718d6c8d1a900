from django.urls import path

from . import views

urlpatterns = [
    path("", views.studio, name="studio"),
    path("generations/", views.generation_create, name="generation_create"),
    path("generations/updates/", views.gallery_updates, name="gallery_updates"),
    path("generations/prompts/", views.prompt_history, name="prompt_history"),
    path("generations/cost/", views.generation_cost, name="generation_cost"),
    path("generations/<int:pk>/cancel/", views.generation_cancel, name="generation_cancel"),
    path(
        "generations/<int:pk>/resubmit/", views.generation_resubmit, name="generation_resubmit"
    ),
    path("generations/<int:pk>/remix/", views.generation_remix, name="generation_remix"),
    path("generations/<int:pk>/delete/", views.generation_delete, name="generation_delete"),
    path("results/<int:pk>/delete/", views.result_delete, name="result_delete"),
    path("results/delete/", views.results_delete, name="results_delete"),
    path("trash/", views.trash, name="trash"),
    path(
        "trash/generations/<int:pk>/restore/",
        views.generation_restore,
        name="generation_restore",
    ),
    path("trash/media/<int:pk>/", views.trash_media, name="trash_media"),
    path("trash/results/<int:pk>/restore/", views.result_restore, name="result_restore"),
    path("results/download.zip", views.results_zip, name="results_zip"),
    path("results/<int:pk>/", views.result_detail, name="result_detail"),
    path("results/<int:pk>/variations/", views.result_variations, name="result_variations"),
    path(
        "results/<int:pk>/use-as-reference/",
        views.result_use_as_reference,
        name="result_use_as_reference",
    ),
    path("results/<int:pk>/<str:tool>/", views.result_derive, name="result_derive"),
]
