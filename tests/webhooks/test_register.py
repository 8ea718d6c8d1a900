"""manage.py register_webhook: only an HTTPS URL (or loopback, for development)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from studio.webhooks.models import WebhookEndpoint
from studio.webhooks.services import InvalidEndpointUrl, endpoint_url_check


@pytest.mark.parametrize(
    "url",
    [
        "https://studio.example.com/webhooks/videogen/",
        "http://127.0.0.1:8000/webhooks/videogen/",
        "http://localhost:8000/webhooks/videogen/",
        "http://[::1]:8000/webhooks/videogen/",
    ],
)
def test_https_and_loopback_urls_are_accepted(url):
    assert endpoint_url_check(url) == url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://studio.example.com/webhooks/videogen/", "plain HTTP"),
        ("http://10.0.0.5/webhooks/videogen/", "plain HTTP"),
        ("ftp://studio.example.com/", "not an https:// URL"),
        ("studio.example.com/webhooks/videogen/", "not an https:// URL"),
        ("https://studio.example.com:99999/", "not a URL"),
    ],
)
def test_anything_else_is_refused_with_a_reason(url, says):
    with pytest.raises(InvalidEndpointUrl, match=says):
        endpoint_url_check(url)


def test_the_command_refuses_plain_http_before_calling_videogen(videogen, db):
    before = videogen.stats()["requests"].get("POST /v1/webhooks/endpoints", 0)

    with pytest.raises(CommandError, match="Not registered: .*plain HTTP.*HTTPS"):
        call_command("register_webhook", url="http://studio.example.com/webhooks/videogen/")

    assert not WebhookEndpoint.objects.exists()
    assert videogen.stats()["requests"].get("POST /v1/webhooks/endpoints", 0) == before
