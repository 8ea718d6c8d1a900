"""Refuse an over-large request body before any of it is read."""

from django.conf import settings
from django.http import HttpResponse
from django_htmx.http import trigger_client_event


def too_large_message() -> str:
    limit = settings.STUDIO_MAX_REQUEST_BYTES / 1_048_576
    return (
        f"That upload is too large: a request may carry at most {limit:.0f} MB "
        f"(each reference image at most {settings.STUDIO_MAX_REFERENCE_BYTES / 1_048_576:.0f} MB)."
    )


class RequestBodyLimitMiddleware:
    """A 413 from the declared Content-Length alone, so a huge upload is neither
    spooled to disk nor parsed. Django's own limits apply only to form fields in
    memory, not to files; this one bounds the whole body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django treats an unreadable length as an empty body
        if length > settings.STUDIO_MAX_REQUEST_BYTES:
            response = HttpResponse(too_large_message(), status=413, content_type="text/plain")
            if request.headers.get("HX-Request"):
                trigger_client_event(response, "studio:error", {"message": too_large_message()})
            return response
        return self.get_response(request)
