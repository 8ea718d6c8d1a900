from django.urls import path

from . import views

urlpatterns = [
    path("", views.studio, name="studio"),
    path("generations/", views.generation_create, name="generation_create"),
    path("generations/updates/", views.gallery_updates, name="gallery_updates"),
    path("generations/cost/", views.generation_cost, name="generation_cost"),
    path("generations/<int:pk>/cancel/", views.generation_cancel, name="generation_cancel"),
    path(
        "generations/<int:pk>/resubmit/", views.generation_resubmit, name="generation_resubmit"
    ),
    path("generations/<int:pk>/remix/", views.generation_remix, name="generation_remix"),
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
