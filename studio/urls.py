from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("studio.ops.urls")),
    path("", include("studio.webhooks.urls")),
    path("accounts/", include("studio.accounts.urls")),
    path("", include("studio.gallery.urls")),
    path("", include("studio.teams.urls")),
    path("", include("studio.discussion.urls")),
    path("", include("studio.generations.urls")),
    path("", include("studio.review.urls")),
]

handler400 = "studio.ops.views.bad_request"
