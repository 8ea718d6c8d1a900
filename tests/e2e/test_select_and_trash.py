"""Several images at once in the gallery, then the Trash, seen by two members live."""

from __future__ import annotations

import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import expect

from studio.generations.models import Result
from studio.teams.models import Membership
from tests.e2e.test_layout import PASSWORD, _generation, _open
from tests.fixtures.factories import make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_members(db):
    ines = make_user("ines", PASSWORD)
    team = ines.teams.get()
    # No personal team: Ines's team is Omar's current one.
    omar = get_user_model().objects.create_user(username="omar", password=PASSWORD)
    Membership.objects.create(team=team, user=omar, role="member")
    generation = _generation(team, ines, "A lighthouse on a cliff", "16:9", 4)
    _generation(team, ines, "A quiet harbour", "4:3", 2)
    return team, ines, omar, generation


def test_select_a_range_compare_zip_and_delete_while_a_teammate_watches(
    browser, live_server, two_members, results_dir, tmp_path
):
    team, ines, omar, generation = two_members
    ctx_o, omar_page, omar_errors = _open(browser, live_server, "desktop", "light", "omar")
    card = omar_page.locator(f"#generation-{generation.pk}")
    expect(card.locator(".thumb")).to_have_count(4)
    # Omar also has the gallery open, on a phone.
    ctx_g, omar_gallery, gallery_errors = _open(browser, live_server, "phone", "dark", "omar")
    omar_gallery.goto(reverse("gallery"))
    expect(omar_gallery.locator("figure.tile")).to_have_count(6)
    omar_gallery.evaluate("window.__noReload = 1")

    ctx_i, page, errors = _open(browser, live_server, "desktop", "light", "ines")
    page.goto(reverse("gallery"))
    boxes = page.locator("input.tile__select")
    expect(boxes).to_have_count(6)
    # Click the first, shift-click the third: three selected.
    lighthouse = [r.pk for r in Result.objects.filter(generation=generation).order_by("-pk")]
    first = page.locator(f"#tile-{lighthouse[0]} input.tile__select")
    third = page.locator(f"#tile-{lighthouse[2]} input.tile__select")
    first.check()
    third.click(modifiers=["Shift"])
    bar = page.locator("#gallery-selection")
    expect(bar.get_by_text("3 images selected")).to_be_visible()

    # Compare them side by side.
    bar.get_by_role("button", name="Compare").click()
    expect(page.locator("dialog#lightbox .compare__item")).to_have_count(3)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.compare__item img')].every(i => i.naturalWidth > 0)"
    )
    page.screenshot(path=results_dir / "gallery-compare.png")
    page.keyboard.press("Escape")

    # A zip of them, named from the prompt.
    with page.expect_download() as download:
        bar.get_by_role("button", name="Download zip").click()
    path = tmp_path / "selection.zip"
    download.value.save_as(path)
    names = sorted(zipfile.ZipFile(path).namelist())
    assert names == [
        "a-lighthouse-on-a-cliff-2.png",
        "a-lighthouse-on-a-cliff-3.png",
        "a-lighthouse-on-a-cliff-4.png",
        "metadata.json",
    ]

    # Delete them: they leave this grid at once, and the teammate's studio without a reload.
    page.on("dialog", lambda d: d.accept())
    omar_page.evaluate("window.__noReload = 1")
    bar.get_by_role("button", name="Delete").click()
    expect(page.locator("figure.tile")).to_have_count(3)
    page.screenshot(path=results_dir / "gallery-after-delete.png")
    expect(card.locator(".thumb")).to_have_count(1, timeout=15_000)
    assert omar_page.evaluate("window.__noReload") == 1
    omar_page.screenshot(path=results_dir / "studio-teammate-after-delete.png")
    # ... and his open gallery, within a poll or two.
    expect(omar_gallery.locator("figure.tile")).to_have_count(3, timeout=6_000)
    assert omar_gallery.evaluate("window.__noReload") == 1
    omar_gallery.screenshot(path=results_dir / "gallery-teammate-after-delete-phone-dark.png")

    # The Trash has them; one comes back.
    page.get_by_role("link", name="Trash").click()
    items = page.locator(".trash-item")
    expect(items).to_have_count(3)
    page.screenshot(path=results_dir / "trash.png", full_page=True)
    items.first.get_by_role("button", name="Restore").click()
    expect(page.locator(".trash-item")).to_have_count(2)
    expect(card.locator(".thumb")).to_have_count(2, timeout=15_000)
    assert not errors, errors
    assert not omar_errors, omar_errors
    assert not gallery_errors, gallery_errors
    ctx_i.close()
    ctx_o.close()
    ctx_g.close()
