"""Sign-in required, told to htmx in a way it acts on (studio/accounts/middleware.py)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.urls import reverse

from tests.fixtures.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db
UPDATES = "/generations/updates/"


def test_a_page_without_a_session_redirects_to_sign_in_as_before(client):
    response = client.get(reverse("gallery"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('gallery')}"


def test_an_htmx_request_without_a_session_sends_the_tab_to_sign_in_and_back(client):
    response = client.get(
        UPDATES, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/gallery/?q=red"
    )
    # Not the sign-in page as a fragment: the tab goes there, then back to its page.
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == f"{reverse('login')}?next={quote('/gallery/?q=red')}"
    # Nothing rendered, so no fresh CSRF cookie to break a sign-in form in another tab.
    assert "csrftoken" not in response.cookies


@pytest.mark.parametrize("current", ["https://evil.example/steal", "not a url", None])
def test_a_page_address_that_is_not_ours_comes_back_to_the_studio(client, current):
    headers = {"HTTP_HX_REQUEST": "true"}
    if current is not None:
        headers["HTTP_HX_CURRENT_URL"] = current
    response = client.get(UPDATES, **headers)
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/"


def test_a_signed_in_htmx_request_is_answered_as_usual(client):
    client.force_login(make_user("hana", PASSWORD))
    response = client.get(
        f"{UPDATES}?cursor=0", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/"
    )
    assert "HX-Redirect" not in response
    assert response.status_code in (200, 204)
