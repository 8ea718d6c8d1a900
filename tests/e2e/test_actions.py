"""A person's everyday actions in Chromium: generate, upscale a result, remove
its background, then download three results as a zip and look inside."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from PIL import Image
from playwright.sync_api import expect

from studio.generations.models import Generation, Status, Tool
from tests.fixtures.browser import sign_in
from tests.fixtures.factories import make_user

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough passphrase"
PROMPT = "A red bicycle leaning on a blue wall"


def _sign_in(page, base_url, username):
    make_user(username, password=PASSWORD)
    sign_in(page, base_url, username, PASSWORD)


def _open_viewer(page, thumbnail):
    thumbnail.click()
    viewer = page.locator("#lightbox[open] .viewer")
    expect(viewer).to_be_visible()
    return viewer


def test_generate_upscale_remove_background_and_zip(page, live_server, celery_worker, results_dir):
    _sign_in(page, live_server.url, "fatima")
    page.evaluate("window.__noReload = 1")
    page.get_by_label("Prompt").fill(PROMPT)
    page.get_by_label("Aspect ratio").select_option("1:1")
    page.get_by_label("Number of results").fill("2")
    page.get_by_role("button", name="Generate").click()
    first = page.locator('#gallery article.card[data-status="succeeded"]')
    expect(first.locator("img")).to_have_count(2, timeout=20_000)

    # Upscale the first image from the viewer; the upscale stacks under its source.
    viewer = _open_viewer(page, first.locator("img").first)
    viewer.get_by_role("button", name="Upscale").click()
    expect(page.locator("#lightbox")).not_to_have_attribute("open", "")
    upscaled = first.locator(".edit", has_text="Upscale")
    expect(upscaled).to_have_attribute("data-status", "succeeded", timeout=20_000)
    expect(page.locator("#gallery > article.card")).to_have_count(1)
    expect(upscaled.locator("img")).to_have_count(1, timeout=20_000)  # stored after "succeeded"

    # Remove the background of the upscaled image.
    viewer = _open_viewer(page, upscaled.locator("img"))
    expect(viewer.get_by_text("Upscale of")).to_be_visible()
    viewer.get_by_role("button", name="Remove background").click()
    cutout = first.locator(".edit", has_text="Remove background")
    expect(cutout).to_have_attribute("data-status", "succeeded", timeout=20_000)
    expect(cutout.locator("img")).to_have_count(1, timeout=20_000)  # stored after "succeeded"

    # Keyboard in the viewer: → moves to the next image, Esc closes.
    viewer = _open_viewer(page, first.locator("img").first)
    shown = viewer.get_attribute("data-result")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#lightbox .viewer")).not_to_have_attribute("data-result", shown)
    page.keyboard.press("Escape")
    expect(page.locator("#lightbox")).not_to_have_attribute("open", "")

    # Select an image, its upscale and its cut-out, and download them as one zip.
    boxes = page.locator("input.thumb__select").all()
    for box in (boxes[0], boxes[2], boxes[3]):
        box.check(force=True)
    expect(page.get_by_text("3 images selected")).to_be_visible()
    page.screenshot(path=str(results_dir / "actions.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download zip").click()
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))

    names = archive.namelist()
    assert len(names) == 4 and names[-1] == "metadata.json"
    meta = json.loads(archive.read("metadata.json"))["images"]
    tools = sorted(entry["tool"] for entry in meta)
    assert tools == sorted([Tool.REMOVE_IMAGE_BACKGROUND, Tool.UPSCALE_IMAGE, Tool.GENERATE_IMAGE])
    for entry in meta:
        image = Image.open(io.BytesIO(archive.read(entry["file"])))
        assert image.size == (entry["width"], entry["height"])
        assert entry["prompt"] == PROMPT
    cut = next(e for e in meta if e["tool"] == Tool.REMOVE_IMAGE_BACKGROUND)
    assert Image.open(io.BytesIO(archive.read(cut["file"]))).mode == "RGBA"
    up = next(e for e in meta if e["tool"] == Tool.UPSCALE_IMAGE)
    assert (up["width"], up["height"]) == (2048, 2048)
    assert page.evaluate("window.__noReload") == 1
    assert Generation.objects.filter(status=Status.SUCCEEDED).count() == 3
