import re

from django.urls import reverse


def test_every_page_has_a_nonce_policy_that_htmx_is_told_about(client_in):
    response = client_in.get(reverse("studio"))

    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([\w-]+)'", policy)[1]
    assert "script-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    html = response.content.decode()
    assert f'"inlineStyleNonce": "{nonce}"' in html
    assert "<script>" not in html, "no inline script without a nonce"


def test_nonce_changes_per_response(client_in):
    first = client_in.get(reverse("studio"))["Content-Security-Policy"]
    second = client_in.get(reverse("studio"))["Content-Security-Policy"]

    assert first != second


def test_sign_in_page_has_the_policy_too(client, db):
    assert "default-src 'self'" in client.get(reverse("login"))["Content-Security-Policy"]


def test_the_policy_directive_by_directive(client_in, settings):
    header = client_in.get(reverse("studio"))["Content-Security-Policy"]

    policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
    nonce = re.search(r"'nonce-([\w-]+)'", header)[0]
    assert policy == {
        "default-src": "'self'",
        "script-src": f"'self' {nonce}",
        "style-src": f"'self' {nonce}",
        "img-src": " ".join(["'self'", "data:", "blob:", *settings.STUDIO_CSP_IMG_ORIGINS]),
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
