"""Studio's URLs plus a bare 204 view: the floor a request through Studio's
middleware (session, auth, current team, CSP, htmx) cannot go below. Only the
benchmark's settings use this URLconf; the product has no such view."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET

from studio.urls import urlpatterns as studio_urlpatterns


@require_GET
def bare(request):
    return HttpResponse(status=204)


urlpatterns = [path("bench/bare/", bare, name="bench_bare"), *studio_urlpatterns]
