"""A tab whose session ended: its next htmx request takes it to sign-in, and back."""

from __future__ import annotations

import re

from django.urls import reverse
from playwright.sync_api import expect

from tests.fixtures.browser import sign_in
from tests.fixtures.factories import PASSWORD, make_user


def test_a_tab_whose_session_ended_goes_to_sign_in_and_comes_back(page, live_server):
    make_user("iris", PASSWORD)
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    sign_in(page, live_server.url, "iris", PASSWORD)
    page.goto(reverse("gallery"))
    page.context.clear_cookies(name="sessionid")  # signed out elsewhere, or expired

    # The search is an htmx request: the sign-in page must not land in the results.
    page.get_by_label("Search", exact=True).press_sequentially("red", delay=30)
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/gallery/"))
    expect(page.locator("#gallery-results, .tile")).to_have_count(0)

    page.get_by_label("Username").fill("iris")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/gallery/"))
    expect(page.get_by_label("Search", exact=True)).to_be_visible()
    assert errors == []
