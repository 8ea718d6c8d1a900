from django.conf import settings

STREAM_PATH = "/live/stream/"


def live(request):
    """The stream's URL, only where a stream can be had: push on, and this
    request served by the ASGI process (under WSGI the page just polls)."""
    pushed = settings.STUDIO_LIVE_PUSH and hasattr(request, "scope")
    return {"live_stream_url": STREAM_PATH if pushed else ""}
