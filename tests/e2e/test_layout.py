"""Image-first pages at a phone's and a desktop's width, light and dark.

Measured in Chromium: tiles at their image's own aspect ratio, no sideways
scroll at 390 px, a batch of 20 that leaves its neighbours' height alone,
no serious or critical axe-core violation, and an empty console.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from studio.gallery.models import Collection
from studio.generations.images import make_thumbnail
from studio.generations.models import Generation, Result, Status, Tool
from studio.teams.models import Invitation
from tests.fixtures.browser import sign_in
from tests.fixtures.factories import make_user

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
SIZES = {"16:9": (320, 180), "9:16": (180, 320), "1:1": (240, 240), "21:9": (420, 180),
         "3:4": (210, 280), "4:3": (280, 210)}
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}
PAGES = ["studio", "gallery", "trash", "team_settings", "team_list", "collection_list",
         "share_link_list", "review_queue", "review_audit", "review_usage", "account",
         "notification_list"]
_counter = iter(range(1, 10_000))


def _stored(team, ratio: str, color) -> tuple[str, str, int, int]:
    width, height = SIZES[ratio]
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    n = next(_counter)
    image = default_storage.save(f"results/t{team.pk}/{n}.png", ContentFile(out.getvalue()))
    thumb = default_storage.save(
        f"thumbnails/t{team.pk}/{n}.webp", ContentFile(make_thumbnail(io.BytesIO(out.getvalue())))
    )
    return image, thumb, width, height


def _generation(team, user, prompt, ratio, count, **fields) -> Generation:
    generation = Generation.objects.create(
        team=team, created_by=user, prompt=prompt, aspect_ratio=ratio, num_results=count,
        status=Status.SUCCEEDED, ingested_at=timezone.now(), **fields,
    )
    for i in range(count):
        image, thumb, width, height = _stored(team, ratio, ((40 * i) % 255, 90, 160))
        Result.objects.create(
            team=team, generation=generation, position=i, remote_file_id=f"f{generation.pk}-{i}",
            image=image, thumbnail=thumb, content_type="image/png", width=width, height=height,
            bytes=100, sha256=f"{generation.pk:032x}{i:032x}",
        )
    return generation


@pytest.fixture
def studio_world(db):
    user = make_user("ines", PASSWORD)
    team = user.teams.get()
    team.name = "Ines’s studio"
    team.save()
    _generation(team, user, "A lighthouse on a cliff at dawn", "16:9", 2)
    _generation(team, user, "Tall poster of a forest", "9:16", 1)
    batch = _generation(team, user, "Twenty variations of a teapot", "1:1", 20)
    source = _generation(team, user, "A panorama of the harbour", "21:9", 1)
    _generation(team, user, "A portrait, three quarters", "3:4", 3)
    _generation(team, user, "A postcard of the sea", "4:3", 1)
    # An upscale of the panorama: it stacks under its source's card.
    _generation(team, user, source.prompt, "21:9", 1, tool=Tool.UPSCALE_IMAGE,
                source_result=source.results.get(), stack_root=source)
    Collection.objects.create(team=team, name="Picks", created_by=user)
    return user, team, batch, source


def _open(browser, live_server, viewport, scheme, username="ines"):
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORTS[viewport], locale="en-US",
        color_scheme=scheme, has_touch=viewport == "phone",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} at {m.location}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server.url, username, PASSWORD)
    return context, page, errors


def _images_loaded(page):
    page.wait_for_function(
        "() => [...document.querySelectorAll('main img')].filter(i => i.checkVisibility() &&"
        " i.getBoundingClientRect().top < innerHeight).every(i => i.complete && i.naturalWidth > 0)"
    )


def _serious(axe_results) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in axe_results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_every_page_fits_reads_and_keeps_the_console_empty(
    browser, live_server, studio_world, results_dir, viewport, scheme
):
    context, page, errors = _open(browser, live_server, viewport, scheme)
    axe = Axe()
    problems = {}
    user, team, batch, source = studio_world
    pages = {name: reverse(name) for name in PAGES}
    pages["result_detail"] = reverse("result_detail", args=[source.results.get().pk])
    pages["collection_detail"] = reverse(
        "collection_detail", args=[Collection.objects.get(team=team).pk]
    )
    invitation = Invitation.objects.create(
        team=team, created_by=user, expires_at=timezone.now() + timedelta(days=1)
    )
    pages["invitation_detail"] = reverse("invitation_detail", args=[invitation.token])
    # Then signed out: what someone who was sent a link sees.
    signed_out = {
        "signed-out-invitation": pages["invitation_detail"],
        "signup-from-invitation": f"{reverse('signup')}?invitation={invitation.token}",
        "login": reverse("login"),
    }
    for name, url in [*pages.items(), *signed_out.items()]:
        if name == "signed-out-invitation":
            context.clear_cookies()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        _images_loaded(page)
        page.screenshot(path=results_dir / f"layout-{name}-{viewport}-{scheme}.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[viewport]["width"], f"{name} is {width} px wide"
        found = _serious(axe.run(page))
        if found:
            problems[name] = found
    assert not problems, problems
    assert not errors, errors
    context.close()


def _ratio_mismatches(page, selector: str) -> list[str]:
    """Tiles whose box is not their image's ratio within 2 %."""
    return page.evaluate(
        """sel => [...document.querySelectorAll(sel)].filter(t => t.checkVisibility()).map(tile => {
             const img = tile.querySelector('img'), box = tile.getBoundingClientRect();
             const want = img.naturalWidth / img.naturalHeight, got = box.width / box.height;
             return Math.abs(got / want - 1) > 0.02
               ? `${tile.id || img.src}: ${got} vs ${want}` : null;
           }).filter(Boolean)""",
        selector,
    )


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_images_keep_their_own_shape_and_a_big_batch_folds(
    browser, live_server, studio_world, results_dir, viewport
):
    user, team, batch, source = studio_world
    context, page, errors = _open(browser, live_server, viewport, "light")

    # The gallery: every tile has its image's aspect ratio (no square crop);
    # the upscale is no tile of its own but sits under its source.
    page.goto(reverse("gallery"))
    tiles = page.locator("#gallery-grid figure.tile")
    expect(tiles).to_have_count(Result.objects.filter(team=team).count() - 1)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#gallery-grid img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert _ratio_mismatches(page, "#gallery-grid figure.tile") == []
    assert _ratio_mismatches(page, "#gallery-grid .thumb") == []
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=results_dir / f"gallery-tiles-{viewport}.png")
    upscale = Result.objects.get(generation__tool=Tool.UPSCALE_IMAGE)
    stack = page.locator(f"#stack-{source.results.get().pk}")
    expect(stack.locator(".edit__badge")).to_have_text("Upscale")
    edit = stack.locator(f'[data-thumb="{upscale.pk}"]')
    expect(edit).to_be_visible()
    # The stack does not break the rows: it and its tile are as wide as the tile's row wants.
    tile_box, stack_box = stack.locator("figure.tile").bounding_box(), stack.bounding_box()
    assert abs(tile_box["width"] - stack_box["width"]) < 1
    stack.scroll_into_view_if_needed()
    page.screenshot(path=results_dir / f"gallery-edit-stacked-{viewport}.png")
    # The viewer moves from the source to its upscale, and the upscale can be selected.
    stack.locator("figure.tile a[data-lightbox-id]").click()
    viewer = page.locator("#lightbox[open] .viewer")
    expect(viewer).to_have_attribute("data-result", str(source.results.get().pk))
    page.keyboard.press("ArrowRight")
    expect(viewer).to_have_attribute("data-result", str(upscale.pk))
    expect(viewer.get_by_text("Upscale of")).to_be_visible()
    page.keyboard.press("Escape")
    edit.locator("input.tile__select").check(force=True)
    expect(page.get_by_text("1 image selected")).to_be_visible()
    edit.locator("input.tile__select").uncheck(force=True)

    # The studio: a batch of 20 shows 4 tiles and "+16 more", which expands in place.
    page.goto(reverse("studio"))
    card = page.locator(f"#generation-{batch.pk}")
    expect(card.locator(".thumb:visible")).to_have_count(4)
    more = card.get_by_text("+16 more")
    expect(more).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#gallery .thumb img')]"
        ".filter(i => i.checkVisibility()).every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("#gallery .thumb:visible").count() >= 12
    assert _ratio_mismatches(page, "#gallery .thumb") == []

    # Its neighbours keep their own height, before and after it expands.
    def neighbour_heights():
        return page.evaluate(
            """id => {
                 const card = document.getElementById(id), top = card.getBoundingClientRect().top;
                 return [...document.querySelectorAll('#gallery > .card')].filter(c => c !== card &&
                   Math.abs(c.getBoundingClientRect().top - top) < 2)
                   .map(c => [c.id, c.clientHeight, c.scrollHeight]);
               }""",
            f"generation-{batch.pk}",
        )

    before = neighbour_heights()
    more.click()
    expect(card.locator(".thumb:visible")).to_have_count(20)
    after = neighbour_heights()
    assert before == after
    for _, height, content in after:
        assert abs(height - content) <= 1, "a neighbour was stretched past its content"
    card.scroll_into_view_if_needed()
    page.screenshot(path=results_dir / f"studio-batch-expanded-{viewport}.png")

    # The upscale sits under its source, with a badge, not as a card of its own.
    source_card = page.locator(f"#generation-{source.pk}")
    expect(source_card.locator(".edit .edit__badge")).to_have_text("Upscale")
    expect(page.locator("#gallery > .card")).to_have_count(6)
    source_card.scroll_into_view_if_needed()
    page.screenshot(path=results_dir / f"studio-edit-stacked-{viewport}.png")
    assert not errors, errors
    context.close()


def test_on_a_phone_the_menu_filters_and_viewer_fold(
    browser, live_server, studio_world, results_dir
):
    context, page, errors = _open(browser, live_server, "phone", "light")

    # The navigation and the team switcher fold into Menu.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.screenshot(path=results_dir / "phone-menu-closed.png")
    page.get_by_role("button", name="Menu").click()
    expect(nav.get_by_role("link", name="Team")).to_be_visible()
    expect(page.locator(".team-switcher")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.screenshot(path=results_dir / "phone-menu-open.png")

    # The gallery's filters fold behind "Filters (n)", n the filters in force.
    page.goto(reverse("gallery") + "?favourites=on&aspect_ratio=16:9")
    expect(page.locator("#gallery-filters")).to_be_hidden()
    toggle = page.get_by_role("button", name="Filters (2)")
    expect(toggle).to_be_visible()
    first_tile = page.locator("#gallery-grid figure.tile").first
    page.goto(reverse("gallery"))
    expect(page.get_by_role("button", name="Filters", exact=True)).to_be_visible()
    tile_top = first_tile.bounding_box()["y"]
    assert tile_top < 300, f"the first image starts {tile_top} px down"
    page.get_by_role("button", name="Filters", exact=True).click()
    expect(page.locator("#gallery-filters")).to_be_visible()
    page.get_by_label("Aspect ratio").select_option("16:9")
    expect(page.get_by_role("button", name="Filters (1)")).to_be_visible()
    page.screenshot(path=results_dir / "phone-filters-open.png")

    # The viewer fills the screen; a swipe moves to the next image.
    page.goto(reverse("gallery"))
    page.locator("#gallery-grid a[data-lightbox-id]").first.click()
    dialog = page.locator("dialog#lightbox")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
    first = dialog.get_attribute("data-result")
    image = dialog.locator(".viewer__image img")
    expect(image).to_be_visible()
    # A touch swipe from right to left (pointer events, as a finger sends them).
    image.evaluate(
        """img => {
             const r = img.getBoundingClientRect(), y = r.top + r.height / 2;
             const at = (type, x) => img.dispatchEvent(new PointerEvent(type,
               {bubbles: true, clientX: x, clientY: y, pointerType: 'touch', isPrimary: true}));
             at('pointerdown', r.right - 10); at('pointermove', r.left + 40);
             at('pointerup', r.left + 10);
           }"""
    )
    expect(dialog).not_to_have_attribute("data-result", first)
    page.screenshot(path=results_dir / "phone-viewer.png")
    assert not errors, errors
    context.close()
