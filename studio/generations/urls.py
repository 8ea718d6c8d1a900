from django.urls import path

from . import views

urlpatterns = [
    path("", views.studio, name="studio"),
    path("generations/", views.generation_create, name="generation_create"),
    path("generations/updates/", views.gallery_updates, name="gallery_updates"),
    path("generations/<int:pk>/cancel/", views.generation_cancel, name="generation_cancel"),
    path(
        "generations/<int:pk>/resubmit/", views.generation_resubmit, name="generation_resubmit"
    ),
]
