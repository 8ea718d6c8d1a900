"""Two people in Chromium: one invites the other, both generate and watch each
other's images land live, one gathers them in a collection and shares it, a
signed-out browser opens the link, and the link is revoked.

Real parts only: the live server, a Celery worker in this process, the sandbox over HTTP.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from studio.gallery.models import Collection, ShareLink
from studio.generations.models import Result
from studio.teams.models import Membership, Role
from tests.conftest import wait_for
from tests.fixtures.browser import sign_in
from tests.fixtures.factories import make_user

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough passphrase"
ALICE_PROMPT = "A lighthouse on a cliff at dawn"
BOB_PROMPT = "A red fox in fresh snow"
LIVE = 30_000  # ms: an idle teammate's page asks every few seconds


@pytest.fixture
def contexts(browser, live_server):
    opened = []

    def open_context():
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-US"
        )
        context.set_default_timeout(10_000)
        opened.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "Revoke this link?"
        return context, page

    yield open_context
    for context in opened:
        context.close()


def generate(page, prompt):
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_role("button", name="Generate").click()


def landed_card(page, prompt):
    card = page.locator("#gallery article.card", has_text=prompt)
    expect(card).to_have_attribute("data-status", "succeeded", timeout=LIVE)
    expect(card.locator(".batch img")).to_have_count(1, timeout=LIVE)
    card.scroll_into_view_if_needed()
    page.wait_for_function(
        "prompt => [...document.querySelectorAll('#gallery article.card')]"
        ".filter(c => c.textContent.includes(prompt))"
        ".every(c => [...c.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0))",
        arg=prompt,
    )
    return card


def test_two_people_share_a_gallery_and_a_link(contexts, live_server, celery_worker, results_dir):
    alice_user, bob_user = make_user("alice", PASSWORD), make_user("bob", PASSWORD)
    team = alice_user.teams.get()

    # Alice invites Bob with a link.
    _, alice = contexts()
    sign_in(alice, live_server.url, "alice", PASSWORD)
    alice.locator("summary.team-switcher__current").click()
    alice.get_by_role("link", name="Members and invitations").click()
    alice.get_by_label("Role").select_option("member")
    alice.get_by_role("button", name="Create invitation").click()
    link = alice.locator("#created-link")
    expect(link).to_contain_text("/invitations/")
    invitation_url = link.inner_text().strip()
    alice.screenshot(path=results_dir / "teams-invite.png", full_page=True)

    # Bob opens it, joins, and lands in Alice's team.
    _, bob = contexts()
    sign_in(bob, live_server.url, "bob", PASSWORD)
    bob.goto(invitation_url)
    expect(bob.get_by_role("heading", name=f"Join {team.name}")).to_be_visible()
    bob.get_by_role("button", name=f"Join {team.name}").click()
    bob.wait_for_url(f"{live_server.url}/")
    expect(bob.locator(".team-switcher .team-name")).to_have_text(team.name)
    assert Membership.objects.get(team=team, user=bob_user).role == Role.MEMBER

    # Cleo has no account: she signs up from a second link and is in the team, no extra click.
    alice.get_by_role("button", name="Create invitation").click()
    expect(alice.locator("#created-link")).not_to_have_text(invitation_url)
    second_url = alice.locator("#created-link").inner_text().strip()
    _, cleo = contexts()
    cleo.goto(second_url)
    cleo.get_by_role("link", name="Create one").click()
    heading = f"Create your account to join {team.name}"
    expect(cleo.get_by_role("heading", name=heading)).to_be_visible()
    cleo.get_by_label("Username").fill("cleo")
    cleo.get_by_label("Password", exact=True).fill(PASSWORD)
    cleo.get_by_label("Password confirmation").fill(PASSWORD)
    cleo.get_by_role("button", name="Sign up").click()
    cleo.wait_for_url(second_url)
    expect(cleo.get_by_role("heading", name=f"You joined {team.name}")).to_be_visible()
    expect(cleo.locator(".team-switcher .team-name")).to_have_text(team.name)
    assert Membership.objects.get(team=team, user__username="cleo").role == Role.MEMBER
    cleo.screenshot(path=results_dir / "teams-signup-joined.png", full_page=True)
    # The same link, used, says so clearly to anyone else.
    bob.goto(second_url)
    expect(bob.get_by_role("heading", name="This invitation is not valid")).to_be_visible()
    bob.goto("/")

    # Both on the studio page; both generate; each sees the other's images land, live.
    alice.goto("/")
    for page in (alice, bob):
        page.evaluate("window.__noReload = 1")
    generate(alice, ALICE_PROMPT)
    landed_card(alice, ALICE_PROMPT)
    landed_card(bob, ALICE_PROMPT)  # Bob did nothing: his idle page still asks
    generate(bob, BOB_PROMPT)
    landed_card(bob, BOB_PROMPT)
    bobs_card = landed_card(alice, BOB_PROMPT)
    expect(bobs_card.locator(".card__byline")).to_contain_text("bob")
    for page in (alice, bob):
        assert page.evaluate("window.__noReload") == 1, "a page was reloaded"
    alice.screenshot(path=results_dir / "teams-live-alice.png", full_page=True)
    bob.screenshot(path=results_dir / "teams-live-bob.png", full_page=True)

    # Alice gathers both images in a new collection: Bob's from its tile, hers from the viewer.
    alice.get_by_role("link", name="Gallery", exact=True).click()
    tiles = alice.locator("#gallery-grid figure.tile")
    expect(tiles).to_have_count(2)
    bobs_tile = tiles.filter(has_text=BOB_PROMPT)
    bobs_tile.locator("summary").click()
    bobs_tile.get_by_label("New collection").fill("Launch picks")
    bobs_tile.get_by_role("button", name="Create and add").click()
    expect(bobs_tile.get_by_role("checkbox", name="Launch picks")).to_be_checked()
    alice.keyboard.press("Escape")
    alice.screenshot(path=results_dir / "teams-gallery.png")

    tiles.filter(has_text=ALICE_PROMPT).locator("a[data-lightbox-id]").click()
    viewer = alice.locator("dialog#lightbox")
    expect(viewer).to_be_visible()
    viewer.get_by_role("checkbox", name="Launch picks").check()
    expect(viewer.get_by_role("checkbox", name="Launch picks")).to_be_checked()
    alice.screenshot(path=results_dir / "teams-viewer.png")
    alice.keyboard.press("Escape")
    collection = Collection.objects.get(team=team, name="Launch picks")
    # The box ticks at once; the request that adds the image may still be on its way.
    wait_for(lambda: collection.results.count() == 2, timeout=10, message="not added")

    # A share link to the collection.
    alice.goto(reverse("collection_list"))
    alice.get_by_role("link", name="Launch picks").click()
    alice.get_by_label("Link valid for").select_option("7")
    alice.get_by_role("button", name="Create share link").click()
    share_code = alice.locator(".share-link code")
    expect(share_code).to_contain_text("/s/")
    share_url = share_code.inner_text().strip()
    link = ShareLink.objects.get(collection=collection)
    assert share_url == f"{live_server.url}/s/{link.token}/"
    alice.screenshot(path=results_dir / "teams-collection.png", full_page=True)

    # Someone signed out opens it: the collection, read-only, images and all.
    visitor_context, visitor = contexts()
    visitor.goto(share_url)
    expect(visitor.get_by_role("heading", name="Launch picks")).to_be_visible()
    expect(visitor.locator("figure.tile")).to_have_count(2)
    visitor.wait_for_function(
        "() => [...document.querySelectorAll('figure.tile img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    expect(visitor.get_by_role("button", name="Sign out")).to_have_count(0)
    visitor.screenshot(path=results_dir / "teams-shared.png", full_page=True)
    bobs_result = Result.objects.get(generation__prompt=BOB_PROMPT)
    media_url = reverse("shared_media", args=[link.token, bobs_result.pk, "original"])
    assert visitor_context.request.get(media_url).status == 200

    # Alice revokes it: page and images stop at once.
    alice.locator(".share-link").get_by_role("button", name="Revoke").click()
    expect(alice.locator(".share-link .status")).to_have_text("Revoked")
    response = visitor.goto(share_url)
    assert response.status == 404
    expect(visitor.get_by_role("heading", name="This link is not available")).to_be_visible()
    assert visitor_context.request.get(media_url).status == 404
    visitor.screenshot(path=results_dir / "teams-revoked.png")
