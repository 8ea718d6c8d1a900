"""Two members and a signed-out client, in Chromium: Anna mentions Ben on an
image and his bell counts it live; Ben rates it and the gallery sorts by
rating; Anna makes a password-protected client link with downloads off; the
client gets the password wrong, then right, picks three images and comments
on one; Anna sees the picks arrive live; the link expires and says so, and its
images answer 404.

Real parts only: the live server, a Celery worker in this process, the sandbox over HTTP.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from studio.discussion.models import Notification
from studio.gallery.models import ClientLink
from studio.gallery.services import collection_add, collection_create
from studio.generations.models import Generation, Status
from studio.generations.services import generation_create
from studio.teams.models import Membership, Role
from tests.conftest import wait_for
from tests.fixtures.browser import OOB_ERRORS, hold_next_request, sign_in
from tests.fixtures.factories import make_user

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough passphrase"
LIVE = 15_000  # ms: the viewer asks every 2 s, the bell and the collection every 3 s
CLIENT_PASSWORD = "blue-harbour-42"


@pytest.fixture
def contexts(browser, live_server):
    opened = []

    def open_context(width=1440, height=900):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}, locale="en-US"
        )
        context.set_default_timeout(10_000)
        opened.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        return context, page

    yield open_context
    for context in opened:
        context.close()


@pytest.fixture
def studio_team(celery_worker):
    anna, ben = make_user("anna", PASSWORD), make_user("ben", PASSWORD)
    team = anna.teams.get()
    joined = Membership.objects.create(team=team, user=ben, role=Role.MEMBER)
    # Anna's team is Ben's first, so it is the one he lands in when he signs in.
    Membership.objects.filter(pk=joined.pk).update(created_at=timezone.now() - timedelta(days=9))
    generation = generation_create(
        team=team, user=anna, prompt="Harbour lights at dusk, four takes", num_results=4,
        aspect_ratio="4:3",
    )
    wait_for(
        lambda: Generation.objects.filter(
            pk=generation.pk, status=Status.SUCCEEDED, ingested_at__isnull=False
        ).exists(),
        timeout=60,
        message="the generation did not land",
    )
    results = list(generation.results.order_by("position"))
    membership = Membership.objects.get(team=team, user=anna)
    board = collection_create(membership=membership, name="Harbour campaign")
    for result in results:
        collection_add(membership=membership, collection=board, result=result)
    return team, anna, ben, results, board


def test_discuss_decide_and_deliver(contexts, live_server, studio_team, results_dir):
    team, anna_user, ben_user, results, board = studio_team
    first, second = results[0], results[1]
    viewer_url = reverse("result_detail", args=[first.pk])

    # Ben looks at the image; Anna opens it too.
    _, ben = contexts()
    sign_in(ben, live_server.url, "ben", PASSWORD)
    ben.goto(viewer_url)
    expect(ben.get_by_text("No comments yet.")).to_be_visible()
    expect(ben.locator("#notification-bell .bell__count")).to_have_count(0)
    _, anna = contexts()
    sign_in(anna, live_server.url, "anna", PASSWORD)
    anna.goto(viewer_url)

    # 1. Anna writes "@be", the name completes as she types, she posts it.
    box = anna.get_by_label("Comment", exact=True)
    box.press_sequentially("Lovely light. What do you think, @be")
    expect(anna.get_by_role("option", name="@ben")).to_be_visible()
    box.press("Enter")
    box.press_sequentially("? See https://example.com/brief")
    expect(box).to_have_value("Lovely light. What do you think, @ben ? See https://example.com/brief")
    anna.get_by_role("button", name="Post comment").click()
    expect(anna.locator(".comment")).to_have_count(1)
    expect(anna.locator(".comment a[href='https://example.com/brief']")).to_be_visible()

    # ...and Ben, who did not reload, sees the comment and his bell count it.
    expect(ben.locator(".comment")).to_contain_text("What do you think, @ben", timeout=LIVE)
    expect(ben.locator("#notification-bell .bell__count")).to_have_text("1", timeout=LIVE)
    anna.screenshot(path=results_dir / "discussion-viewer-1440.png", full_page=True)

    # 2. Ben rates this image 5 stars and the second 2; the gallery sorts by rating.
    ben.get_by_role("button", name="5 stars").click()
    expect(ben.locator(".rating__average")).to_have_text("5.0 ★ from 1 rating")
    ben.goto(reverse("result_detail", args=[second.pk]))
    ben.get_by_role("button", name="2 stars").click()
    expect(ben.locator(".rating__average")).to_contain_text("2.0 ★")
    ben.goto(reverse("gallery"))
    ben.get_by_label("Sort by").select_option(label="Team's rating")
    expect(ben).to_have_url(f"{live_server.url}{reverse('gallery')}?sort=rating")
    tiles = ben.locator("#gallery-grid .tile")
    expect(tiles.nth(0)).to_have_attribute("id", f"tile-{first.pk}")
    expect(tiles.nth(1)).to_have_attribute("id", f"tile-{second.pk}")
    expect(tiles.nth(0)).to_contain_text("★ 5.0")
    ben.goto(reverse("notification_list"))
    expect(ben.locator(".notification--unread")).to_contain_text("anna mentioned you")
    ben.screenshot(path=results_dir / "discussion-notifications-1440.png", full_page=True)

    # 3. Anna makes a client link with a password, downloads off (the default).
    anna.goto(reverse("collection_detail", args=[board.pk]))
    anna.get_by_label("Password (optional)").fill(CLIENT_PASSWORD)
    expect(anna.get_by_label("Allow downloads of the originals")).not_to_be_checked()
    anna.get_by_role("button", name="Create client link").click()
    url = anna.locator(".client-links code.share-link__url").first.text_content().strip()
    link = ClientLink.objects.get(team=team)
    assert link.has_password and not link.allow_downloads

    # 4. A signed-out client: wrong password, right password, a name, three picks, a comment.
    client_context, client = contexts()
    client.goto(url)
    client.get_by_label("Password").fill("wrong guess")
    client.get_by_role("button", name="Open").click()
    expect(client.get_by_text("That password is not right.")).to_be_visible()
    client.get_by_label("Password").fill(CLIENT_PASSWORD)
    client.get_by_role("button", name="Open").click()
    client.get_by_label("Your name").fill("Zoë Client")
    client.get_by_role("button", name="Continue").click()
    cards = client.locator("article.client-card")
    expect(cards).to_have_count(4)
    expect(client.get_by_role("link", name="Download")).to_have_count(0)
    for i in range(3):
        cards.nth(i).get_by_role("button", name="☆ Pick").click()
        expect(cards.nth(i).get_by_role("button", name="★ Picked")).to_be_visible()
    cards.nth(0).get_by_label("Comment").fill("This one, a touch warmer please.")
    cards.nth(0).get_by_role("button", name="Save comment").click()
    expect(client.locator("article.client-card").nth(0).get_by_label("Comment")).to_have_value(
        "This one, a touch warmer please."
    )
    client.wait_for_function(
        "() => [...document.querySelectorAll('article.client-card img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    client.screenshot(path=results_dir / "discussion-client-1440.png", full_page=True)
    client.set_viewport_size({"width": 390, "height": 844})
    assert client.evaluate("document.documentElement.scrollWidth") <= 390
    client.screenshot(path=results_dir / "discussion-client-390.png", full_page=True)

    # 5. Anna, still on the collection page, sees the picks and the comment arrive.
    activity = anna.locator(f"#client-activity-{board.pk}")
    expect(activity.locator("li", has_text="Zoë Client picked")).to_have_count(3, timeout=LIVE)
    expect(activity).to_contain_text("This one, a touch warmer please.")
    assert Notification.objects.filter(user=anna_user, kind="client").count() == 4

    # 6. The link expires: a plain page says so, and its images answer 404.
    media = reverse("client_media", args=[link.token, first.pk, "preview"])
    assert client_context.request.get(f"{live_server.url}{media}").status == 200
    ClientLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client.goto(url)
    expect(client.get_by_role("heading", name="This link has expired")).to_be_visible()
    expect(client.get_by_text("Harbour campaign")).to_have_count(0)
    assert client_context.request.get(f"{live_server.url}{media}").status == 404


def test_a_comment_posted_during_the_threads_poll_leaves_no_oob_error(
    contexts, live_server, studio_team
):
    """The comment answer replaces the thread's poller (out of band) while that poller's
    own request is still out: its late answer must not be swapped into the detached
    poller (htmx would report htmx:oobErrorNoTarget for the thread and the poller)."""
    _team, _anna, _ben, results, _board = studio_team
    _, anna = contexts()
    errors = []
    anna.on("console", lambda m: m.type == "error" and errors.append(m.text))
    sign_in(anna, live_server.url, "anna", PASSWORD)
    anna.goto(reverse("result_detail", args=[results[0].pk]))
    anna.evaluate(OOB_ERRORS)

    held = hold_next_request(anna, "**/comments/updates/**")  # the thread asks every 2 s

    anna.get_by_label("Comment", exact=True).fill("Posted while the thread was asking")
    with anna.expect_response(lambda r: r.request.method == "POST" and "/comments" in r.url):
        anna.get_by_role("button", name="Post comment").click()
    held.continue_()  # the poll answers after its poller was replaced

    expect(anna.locator(".comment")).to_have_count(1)
    anna.wait_for_timeout(2_500)  # the replacement poller asks again
    assert anna.evaluate("window.__oobErrors") == []
    assert errors == []
    expect(anna.locator(".comment")).to_have_count(1)
