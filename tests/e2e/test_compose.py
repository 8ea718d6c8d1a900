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
    page.locator(f"#generation-{older.pk}").get_by_role("link", name="Remix").click()
    notice = page.locator(".composer__remix")
    expect(notice).to_contain_text("Aspect ratio: 9:16")
    expect(notice).to_contain_text("Kept the 1 reference already chosen.")
    expect(page.get_by_label("Prompt")).to_have_value("A kite over the dunes")
    expect(page.locator("#reference-chips li")).to_have_count(1)
    assert Reference.objects.filter(team=team).count() == 1
    page.screenshot(path=results_dir / "compose-remix.png")
    assert not errors, errors
    context.close()
