"""Review under "require approval", in Chromium: a member generates, another
member does not see the images yet, an admin decides from the queue with the
keyboard, and the other member's gallery shows the approved image without a
reload.

Real parts only: the live server, a Celery worker in this process, the sandbox over HTTP.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from studio.audit.models import AuditEntry
from studio.generations.models import Result
from studio.teams.models import Team, TeamPolicy
from tests.fixtures.browser import sign_in
from tests.fixtures.factories import make_member

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough passphrase"
PROMPT = "A glass greenhouse in the fog, morning light"


def _signed_in(browser, live_server, name):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, live_server.url, name, PASSWORD)
    return page


def test_admin_approves_from_the_queue_and_members_see_it_live(
    browser, live_server, celery_worker, results_dir
):
    team = Team.objects.create(name="Greenhouse")
    TeamPolicy.objects.create(team=team, require_approval=True)
    for name, role in (("carla", "member"), ("mona", "member"), ("adam", "admin")):
        make_member(team, role, name, password=PASSWORD, personal_team=False)

    mona = _signed_in(browser, live_server, "mona")
    mona.evaluate("window.__noReload = 1")
    expect(mona.get_by_role("link", name="Review queue")).to_have_count(0)

    # Carla generates two images: she sees them at once, marked as awaiting review.
    carla = _signed_in(browser, live_server, "carla")
    carla.get_by_label("Prompt").fill(PROMPT)
    carla.get_by_label("Number of results").fill("2")
    carla.get_by_role("button", name="Generate").click()
    card = carla.locator("#gallery article.card")
    expect(card).to_have_attribute("data-status", "succeeded", timeout=20_000)
    expect(card.locator(".thumb img")).to_have_count(2, timeout=10_000)
    expect(card.locator(".review-mark")).to_have_text(["Awaiting review", "Awaiting review"])
    carla.screenshot(path=results_dir / "review-creator-awaiting.png")

    # Mona's gallery receives the card, without the images.
    their_card = mona.locator("#gallery article.card")
    expect(their_card).to_have_attribute("data-status", "succeeded", timeout=10_000)
    expect(their_card.locator(".card__review-note")).to_have_text("2 images hidden until approved.")
    expect(their_card.locator(".thumb img")).to_have_count(0)
    mona.screenshot(path=results_dir / "review-member-hidden.png")

    # Adam reviews with the keyboard: J moves, A approves the current image,
    # R asks for the reason of a rejection and Enter sends it.
    adam = _signed_in(browser, live_server, "adam")
    adam.get_by_role("link", name="Review queue").click()
    items = adam.locator("[data-review-item]")
    expect(items).to_have_count(2)
    first, second = Result.objects.filter(team=team).order_by("created_at", "pk")
    expect(items.first).to_be_focused()
    expect(items.first).to_have_class("review-item is-current")
    adam.keyboard.press("j")
    expect(items.nth(1)).to_be_focused()
    adam.keyboard.press("k")
    adam.keyboard.press("a")
    expect(items).to_have_count(1)
    expect(adam.locator(".toast").last).to_have_text("Approved 1 image.")
    expect(items.first).to_be_focused()
    adam.keyboard.press("r")
    reason = adam.get_by_label("Reason for rejecting").filter(visible=True)
    expect(reason).to_be_focused()
    adam.keyboard.type("The greenhouse frame is bent")
    adam.screenshot(path=results_dir / "review-queue-reject.png")
    adam.keyboard.press("Enter")
    expect(adam.locator(".review__empty")).to_be_visible()
    expect(items).to_have_count(0)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.review_state, second.review_state) == ("approved", "rejected")
    assert second.review_reason == "The greenhouse frame is bent"
    assert list(AuditEntry.objects.order_by("pk").values_list("action", "actor_label")) == [
        ("review.approve", "adam"),
        ("review.reject", "adam"),
    ]

    # Mona sees the approved image appear, without a reload; the rejected one stays hidden.
    expect(their_card.locator(".thumb img")).to_have_count(1, timeout=10_000)
    thumbnail = reverse("result_media", args=[first.pk, "thumbnail"])
    expect(their_card.locator(".thumb img")).to_have_attribute("src", thumbnail)
    expect(their_card.locator(".card__review-note")).to_have_text("1 image hidden until approved.")
    assert mona.evaluate("window.__noReload") == 1, "the page was reloaded"
    mona.screenshot(path=results_dir / "review-member-approved.png")

    # Carla, the creator, reads why the other one was rejected.
    expect(card.locator(".review-mark")).to_have_text(
        ["Rejected: The greenhouse frame is bent"], timeout=10_000
    )
    for page in (mona, carla, adam):
        page.context.close()
