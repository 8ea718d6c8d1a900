from django.urls import path

from . import views

urlpatterns = [
    path("media/results/<int:pk>/<str:kind>/", views.result_media, name="result_media"),
    path("media/references/<int:pk>/", views.reference_media, name="reference_media"),
]
