from django.urls import path

from . import views

urlpatterns = [
    path("discussion/results/<int:pk>/", views.result_discussion, name="result_discussion"),
    path("discussion/results/<int:pk>/comments/", views.comment_create, name="comment_create"),
    path(
        "discussion/results/<int:pk>/comments/updates/",
        views.comment_updates,
        name="comment_updates",
    ),
    path("discussion/results/<int:pk>/rating/", views.rating_set, name="rating_set"),
    path("discussion/comments/<int:pk>/edit/", views.comment_edit, name="comment_edit"),
    path("discussion/comments/<int:pk>/remove/", views.comment_remove, name="comment_remove"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
]
