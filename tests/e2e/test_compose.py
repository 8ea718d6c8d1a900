"""The prompt box: history with ↑, an image dragged in as a reference, the
settings in effect as chips, and a remix that keeps what was just added."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from studio.generations.models import Reference
from tests.e2e.test_layout import PASSWORD, _generation, _open
from tests.fixtures.factories import make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def history(db):
    user = make_user("ines", PASSWORD)
    team = user.teams.get()
    older = _generation(team, user, "A kite over the dunes", "9:16", 1)
    newer = _generation(team, user, "A lighthouse on a cliff", "16:9", 2)
    return team, older, newer


def test_recall_drag_in_see_the_settings_and_remix(browser, live_server, history, results_dir):
    team, older, newer = history
    context, page, errors = _open(browser, live_server, "desktop", "light")
    prompt = page.get_by_label("Prompt")

    # ↑ in the empty prompt box brings back the last prompt, ↑ again the one before.
    prompt.focus()
    page.keyboard.press("ArrowUp")
    expect(prompt).to_have_value("A lighthouse on a cliff")
    page.keyboard.press("ArrowUp")
    expect(prompt).to_have_value("A kite over the dunes")

    # The settings in effect, as chips; "Temporary output" says what it means.
    chips = page.locator("[data-settings-chips] li")
    expect(chips).to_have_text(["16:9", "1 image", "Automatic watermark"])
    page.get_by_label("Temporary output").check()
    expect(chips.last).to_have_text("Temporary output — kept by VideoGen for 24 h, not searchable")

    # An image of the feed dragged onto the references area becomes a reference.
    thumb = page.locator(f"#generation-{newer.pk} .thumb a").first
    thumb.drag_to(page.locator("[data-dropzone]"))
    expect(page.locator("#reference-chips li")).to_have_count(1)
    expect(chips).to_contain_text(["1 reference"])

    # Remix the older one: its settings come in, the reference just added stays, and it says so.
    card = page.locator(f"#generation-{older.pk}")
    card.get_by_role("link", name="Use these settings").click()
    notice = page.locator(".composer__remix")
    expect(notice).to_contain_text("Aspect ratio: 9:16")
    expect(notice).to_contain_text("Kept the 1 reference already chosen.")
    expect(page.get_by_label("Prompt")).to_have_value("A kite over the dunes")
    expect(page.locator("#reference-chips li")).to_have_count(1)
    assert Reference.objects.filter(team=team).count() == 1
    page.screenshot(path=results_dir / "compose-remix.png")

    # "Use these settings" in the viewer does the same, and the viewer closes.
    page.locator(f"#generation-{newer.pk} .thumb a").first.click()
    page.locator("#lightbox[open]").get_by_role("link", name="Use these settings").click()
    expect(page.locator("#lightbox")).not_to_have_attribute("open", "")
    expect(page.get_by_label("Prompt")).to_have_value("A lighthouse on a cliff")
    expect(page.get_by_label("Number of results")).to_have_value("2")
    expect(notice).to_contain_text("Aspect ratio: 16:9")
    expect(page.locator("#reference-chips li")).to_have_count(1)
    # From the gallery's viewer it opens the studio with them.
    page.goto("/gallery/")
    page.locator(f"#gallery-grid a[data-lightbox-id='{older.results.get().pk}']").click()
    page.locator("#lightbox[open]").get_by_role("link", name="Use these settings").click()
    expect(page.get_by_label("Prompt")).to_have_value("A kite over the dunes")
    expect(page.get_by_label("Aspect ratio")).to_have_value("9:16")
    expect(page.locator(".composer__remix")).to_contain_text(
        "the settings of “A kite over the dunes”"
    )
    page.screenshot(path=results_dir / "compose-use-settings-from-gallery.png")
    assert not errors, errors
    context.close()
