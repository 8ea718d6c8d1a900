"""Finding what the team made, in Chromium: search by what an image shows, More like
this, Already made; and another team with the same prompts never sees any of it.

Real parts: the live server, a Celery worker, a sandbox of this module's own (its
search spans every file of the key, as VideoGen's does), no webhooks (so the
descriptions come by the check after each ingest).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from studio.generations.models import Generation, Result, Reuse
from studio.generations.services import generation_create
from studio.sandbox.analysis import COLOUR_NAMES
from tests.conftest import wait_for
from tests.fixtures.browser import sign_in
from tests.fixtures.factories import make_user

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough passphrase"
LIGHTHOUSE = "a lighthouse at dusk"
HARBOUR = "a quiet harbour"
SHOTS = Path("/work/shots-search")


@pytest.fixture(scope="module")
def finding_sandbox(sandbox_factory):
    sandbox = sandbox_factory("--analysis-seconds", "0.1")
    yield sandbox
    sandbox.stop()


@pytest.fixture
def worker(celery_worker, settings, finding_sandbox):
    settings.VIDEOGEN_BASE_URL = finding_sandbox.base_url
    settings.VIDEOGEN_API_KEY = finding_sandbox.api_key
    settings.STUDIO_DESCRIBE_DELAY = 0.3
    return celery_worker


def make_images(user, team):
    """The lighthouse (2 images) and the harbour, through the real pipeline, described."""
    made = [
        generation_create(team=team, user=user, prompt=LIGHTHOUSE, num_results=2),
        generation_create(team=team, user=user, prompt=HARBOUR, num_results=1),
    ]
    ids = [g.pk for g in made]
    wait_for(
        lambda: Result.objects.filter(generation_id__in=ids).exclude(description="").count() == 3,
        timeout=40,
        message=lambda: f"not described: {list(Generation.objects.values('status', 'prompt'))}",
    )
    lighthouse = list(Result.objects.filter(generation=made[0]).order_by("position"))
    harbour = Result.objects.get(generation=made[1])
    return lighthouse, harbour


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def shoot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900 if width > 400 else 844})
        page.wait_for_timeout(150)
        page.screenshot(path=SHOTS / f"{name}-{width}.png")
    page.set_viewport_size({"width": 1440, "height": 900})


def test_find_by_description_more_like_this_and_already_made(page, live_server, worker):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    ann, bob = make_user("ann", PASSWORD), make_user("bob", PASSWORD)
    team_a, team_b = ann.teams.get(), bob.teams.get()
    lighthouse, harbour = make_images(ann, team_a)
    b_lighthouse, _ = make_images(bob, team_b)  # team B: the same prompts, the same pictures
    ours = set(Result.objects.filter(team=team_a).values_list("pk", flat=True))
    theirs = set(Result.objects.filter(team=team_b).values_list("pk", flat=True))
    colours = (words(lighthouse[0].description) & set(COLOUR_NAMES)) - words(
        harbour.description
    )
    assert colours, (lighthouse[0].description, harbour.description)
    colour = sorted(colours)[0]
    assert colour not in words(LIGHTHOUSE)

    # 1. A word only the lighthouse's description has finds it, by its description.
    sign_in(page, live_server.url, "ann", PASSWORD)
    page.goto(reverse("gallery"))
    page.get_by_label("Search", exact=True).press_sequentially(colour, delay=30)
    tile = page.locator(f"#tile-{lighthouse[0].pk}")
    expect(tile).to_be_visible()
    expect(tile.locator(".tile__match")).to_have_text("Matched: description")
    expect(page.locator(f"#tile-{harbour.pk}")).to_have_count(0)
    shown = {int(t) for t in page.locator(".tile").evaluate_all(
        "tiles => tiles.map(t => t.dataset.result)")}
    assert shown and shown <= ours
    assert tile.locator("img").get_attribute("alt") == lighthouse[0].description
    shoot(page, "search-results")

    # 2. The viewer: the caption, and More like this ranks the other lighthouse first.
    tile.locator("a.tile__image").click()
    viewer = page.locator("dialog#lightbox")
    expect(viewer.locator("[data-description]")).to_have_text(lighthouse[0].description)
    viewer.get_by_role("button", name="More like this").click()
    hits = viewer.locator("[data-similar-hit]")
    expect(hits.first).to_be_visible()
    order = [int(x) for x in hits.evaluate_all("as => as.map(a => a.dataset.similarHit)")]
    assert order[0] == lighthouse[1].pk and set(order) <= ours - {lighthouse[0].pk}
    if harbour.pk in order:  # shares words with it (a colour, a shape): ranked after
        assert order.index(harbour.pk) > 0
    shoot(page, "viewer-more-like-this")
    page.keyboard.press("Escape")

    # 3. Typing the lighthouse prompt again: Already made, with it; Use this takes it.
    page.goto(reverse("studio"))
    page.get_by_label("Prompt").press_sequentially(LIGHTHOUSE, delay=20)
    panel = page.locator("[data-already-made]")
    expect(panel).to_be_visible()
    exact = panel.locator('[data-made="exact"]')
    expect(exact).to_have_count(2)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")  # typing settled
    offered = {int(x) for x in panel.locator("[data-result]").evaluate_all(
        "items => items.map(i => i.dataset.result)")}
    assert {r.pk for r in lighthouse} <= offered <= ours
    expect(panel.get_by_role("button", name="Generate anyway")).to_be_enabled()
    shoot(page, "already-made")
    exact.first.get_by_role("button", name="Use this").click()
    expect(page.locator("dialog#lightbox")).to_be_visible()
    expect(page.locator("#generation-form")).to_contain_text("nothing was generated")
    assert page.get_by_label("Prompt").input_value() == LIGHTHOUSE
    wait_for(lambda: Reuse.objects.filter(team=team_a).count() == 1)
    page.keyboard.press("Escape")
    assert Generation.objects.filter(team=team_a).count() == 2  # nothing paid twice

    # 4. Team B, the same prompts: only its own images, in every one of these.
    sign_in(page, live_server.url, "bob", PASSWORD)
    page.goto(f"{reverse('gallery')}?q={colour}")
    expect(page.locator(f"#tile-{b_lighthouse[0].pk}")).to_be_visible()
    shown = {int(t) for t in page.locator(".tile").evaluate_all(
        "tiles => tiles.map(t => t.dataset.result)")}
    assert shown <= theirs
    page.goto(reverse("result_detail", args=[b_lighthouse[0].pk]))
    page.get_by_role("button", name="More like this").click()
    expect(page.locator("[data-similar-hit]").first).to_be_visible()
    order = [int(x) for x in page.locator("[data-similar-hit]").evaluate_all(
        "as => as.map(a => a.dataset.similarHit)")]
    assert order[0] == b_lighthouse[1].pk and set(order) <= theirs
    page.goto(reverse("studio"))
    page.get_by_label("Prompt").press_sequentially(LIGHTHOUSE, delay=20)
    expect(page.locator("[data-already-made]")).to_be_visible()
    offered = {int(x) for x in page.locator("[data-already-made] [data-result]").evaluate_all(
        "items => items.map(i => i.dataset.result)")}
    assert offered and offered <= theirs
    assert page.request.get(reverse("result_detail", args=[lighthouse[0].pk])).status == 404
    assert not errors, errors
