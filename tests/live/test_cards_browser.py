"""Pushed cards in Chromium: a teammate's work lands on two open studio tabs of
one owner with no request of their own for it, and a member who may not see
images awaiting review never gets them pushed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from studio.generations.models import Result
from studio.generations.services import generation_create
from studio.teams.models import Membership
from tests.conftest import wait_for
from tests.e2e.test_live import _signed_in_page
from tests.fixtures.asgi import AsgiServer
from tests.fixtures.factories import make_member, make_user
from tests.review.conftest import set_policy

pytestmark = pytest.mark.e2e
Role = Membership.Role


@pytest.fixture
def asgi(transactional_db, settings):
    settings.STUDIO_LIVE_PUSH = True
    settings.STUDIO_LIVE_PUSH_CARDS = True
    server = AsgiServer()
    server.start()
    yield server
    server.close()


def test_pushed_cards_land_without_a_request_and_only_for_who_may_see_them(
    browser, asgi, celery_worker
):
    owner = make_user("olivia")
    team = owner.teams.get()
    bob = make_member(team, Role.MEMBER, "bob", personal_team=False)
    mona = make_member(team, Role.MEMBER, "mona", personal_team=False)
    set_policy(team, require_approval=True)

    context, first = _signed_in_page(browser, asgi, owner)
    second = context.new_page()  # a second tab: same browser, same session
    second.goto("/")
    monas_context, monas = _signed_in_page(browser, asgi, mona)
    pages = (first, second, monas)
    asked, errors = [], []
    for page in pages:
        expect(page.locator("body")).to_have_attribute("data-live", "open")
        page.on("request", lambda r: "/generations/updates/" in r.url and asked.append(r.url))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    first.wait_for_timeout(1_000)  # the pages' own first asks, on load and on open, are done
    asked.clear()

    # Bob generates: every step of his card reaches the three pages pushed.
    generation = generation_create(team=team, user=bob, prompt="bob's kite", aspect_ratio="1:1",
                                   num_results=2)
    for page in pages:
        expect(page.locator(f"#generation-{generation.pk}")).to_have_attribute(
            "data-status", "succeeded", timeout=20_000)
    results = wait_for(lambda: list(Result.objects.filter(generation=generation)) or None,
                       timeout=20, message="results stored")
    for page in (first, second):  # the owner reviews: she sees them, marked
        for result in results:
            expect(page.locator(f'[data-thumb="{result.pk}"]')).to_have_count(1)
    # Awaiting review: not for another member, not even pushed.
    expect(monas.locator(f"#generation-{generation.pk} .card__review-note")).to_contain_text(
        "2 images hidden until approved")
    for result in results:
        assert monas.locator(f'[data-thumb="{result.pk}"]').count() == 0
    for page in pages:
        expect(page.locator(f"#generation-{generation.pk}")).to_have_count(1)  # never twice
    assert asked == [], f"the pages asked for what was pushed: {asked}"
    assert errors == []
    context.close()
    monas_context.close()
