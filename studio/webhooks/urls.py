from django.urls import path

from . import views

urlpatterns = [path("webhooks/videogen/", views.receive, name="webhook_receive")]
