"""Live updates in Chromium, served by uvicorn (studio/asgi.py) as in make run:
a teammate's work, its images, a trash and a mention reach an open studio page
with push, and again with push off (polling only); a stream that is cut
mid-session falls back to polling and then resumes."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from studio.discussion.services import comment_post
from studio.generations.models import Generation, Result
from studio.generations.services import generation_create, generation_delete
from studio.teams.models import Membership
from tests.conftest import wait_for
from tests.fixtures.asgi import AsgiServer
from tests.fixtures.browser import sign_in
from tests.fixtures.factories import PASSWORD, make_member, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def asgi(transactional_db):
    server = AsgiServer()
    server.start()
    yield server
    server.close()


def _signed_in_page(browser, asgi, user):
    context = browser.new_context(base_url=asgi.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, asgi.url, user.get_username(), PASSWORD)
    return context, page


def _teammates():
    alice = make_user("alice")
    team = alice.teams.get()
    bob = make_member(team, "member", "bob")
    return team, alice, bob


@pytest.mark.parametrize("push", [True, False], ids=["push", "polling"])
def test_teammates_work_reaches_an_open_page(browser, asgi, celery_worker, settings, push):
    settings.STUDIO_LIVE_PUSH = push
    team, alice, bob = _teammates()
    context, page = _signed_in_page(browser, asgi, alice)
    errors, polls = [], []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("request", lambda r: "/generations/updates/" in r.url and polls.append(time.time()))
    body = page.locator("body")
    if push:
        expect(body).to_have_attribute("data-live", "open")
    else:
        assert body.get_attribute("sse-connect") is None

    # Bob generates: his card appears on Alice's page and lands with its image.
    generation = generation_create(team=team, user=bob, prompt="bob's lighthouse",
                                   aspect_ratio="1:1")
    card = page.locator(f"#generation-{generation.pk}")
    expect(card).to_have_attribute("data-status", "succeeded", timeout=20_000)
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#generation-{generation.pk} .batch img')]"
        ".some(img => img.complete && img.naturalWidth > 0)"
    )
    # Bob moves it to the Trash: the tile leaves Alice's page. (First the page's
    # refreshes settle: this server shares the test's one in-memory database
    # connection, so a request mid-transaction would read the uncommitted change.)
    page.wait_for_timeout(1_000)
    generation_delete(generation=Generation.objects.get(pk=generation.pk),
                      membership=Membership.objects.get(team=team, user=bob), user=bob)
    expect(card).to_have_count(0, timeout=8_000)
    # Bob mentions Alice: her bell counts it.
    other = generation_create(team=team, user=bob, prompt="second", aspect_ratio="1:1")
    result = wait_for(lambda: Result.objects.filter(generation=other).first(),
                      timeout=20, message="second generation's image stored")
    page.wait_for_timeout(1_000)
    comment_post(membership=Membership.objects.get(team=team, user=bob),
                 result=result, body="@alice look")
    expect(page.locator("#notification-bell .bell__count")).to_have_text("1", timeout=8_000)

    if push:
        # Pushed: no timed polls while the stream flows, only refreshes that follow
        # changes; an idle page asks nothing at all.
        page.wait_for_timeout(1_500)
        before = len(polls)
        page.wait_for_timeout(5_000)
        assert len(polls) == before, "the page polled while the stream was open"
    assert errors == []
    context.close()


def test_a_cut_stream_falls_back_to_polling_then_resumes(browser, asgi, celery_worker, settings):
    team, alice, bob = _teammates()
    context, page = _signed_in_page(browser, asgi, alice)
    body = page.locator("body")
    expect(body).to_have_attribute("data-live", "open")

    # The stream cannot be had (push switched off and the server restarted):
    # the page notices and polls.
    settings.STUDIO_LIVE_PUSH = False
    asgi.stop()
    asgi.start()
    expect(body).to_have_attribute("data-live", "down")
    first = generation_create(team=team, user=bob, prompt="while cut", aspect_ratio="1:1")
    expect(page.locator(f"#generation-{first.pk}")).to_have_attribute(
        "data-status", "succeeded", timeout=20_000)

    # The stream is back: the page resumes it and stops polling.
    settings.STUDIO_LIVE_PUSH = True
    expect(body).to_have_attribute("data-live", "open", timeout=20_000)
    polls = []
    page.on("request", lambda r: "/generations/updates/" in r.url and polls.append(r))
    page.wait_for_timeout(1_000)
    second = generation_create(team=team, user=bob, prompt="pushed again", aspect_ratio="1:1")
    expect(page.locator(f"#generation-{second.pk}")).to_have_attribute(
        "data-status", "succeeded", timeout=20_000)
    page.wait_for_timeout(3_000)
    count = len(polls)
    page.wait_for_timeout(4_500)
    assert len(polls) == count, "still polling after the stream came back"
    context.close()
