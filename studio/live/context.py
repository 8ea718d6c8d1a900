from django.conf import settings

STREAM_PATH = "/live/stream/"
# Pages whose stream carries the changed cards (their #gallery-poller asks
# settings.STUDIO_LIVE_UPDATES_PATH); every other page hears "changed" only.
CARD_PAGES = {"studio"}


def live(request):
    """The stream's URL, only where a stream can be had: push on, and this
    request served by the ASGI process (under WSGI the page just polls)."""
    if not (settings.STUDIO_LIVE_PUSH and hasattr(request, "scope")):
        return {"live_stream_url": ""}
    match = getattr(request, "resolver_match", None)
    cards = settings.STUDIO_LIVE_PUSH_CARDS and match is not None and match.url_name in CARD_PAGES
    return {"live_stream_url": f"{STREAM_PATH}?cards=1" if cards else STREAM_PATH}
