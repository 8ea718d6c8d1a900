"""POST /generations/: the form's checks, with and without htmx, and what a valid post creates.

These are plain `db` tests: the on_commit callback that enqueues `submit_generation`
never runs (the test's transaction is rolled back), so no worker is needed; where it
matters, django_capture_on_commit_callbacks shows whether a submit was enqueued.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.html import Element, parse_html
from django.urls import reverse
from PIL import Image

from studio.generations.models import Generation, Reference
from studio.teams.models import Membership
from tests.fixtures.factories import image_upload, png_bytes, tasks_on_commit

HTMX = {"HX-Request": "true"}


def files_under(root) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _, names in os.walk(root)
        for name in names
    )


def post(client, htmx: bool, **fields):
    data = {
        "prompt": "A lighthouse on a cliff at dawn",
        "aspect_ratio": "16:9",
        "num_results": "1",
        "watermark_mode": "AUTO",
        **fields,
    }
    return client.post(reverse("generation_create"), data, headers=HTMX if htmx else {})


# --- HTML helpers ---------------------------------------------------------------


def _walk(node):
    if isinstance(node, Element):
        yield node
        for child in node.children:
            yield from _walk(child)


def _attrs(element: Element) -> dict[str, str]:
    return {name: value or "" for name, value in element.attributes}


def find(html: str, **attrs) -> list[Element]:
    """Elements whose attributes include every one given (class_ for class)."""
    wanted = {name.rstrip("_"): value for name, value in attrs.items()}
    return [
        el
        for el in _walk(parse_html(html))
        if el.name and all(_attrs(el).get(k) == v for k, v in wanted.items())
    ]


def field_area(html: str, name: str) -> Element:
    """The `div.field` of the form that holds the control named `name`."""

    def search(node, area):
        if not isinstance(node, Element):
            return None
        attrs = _attrs(node)
        if node.name == "div" and "field" in attrs.get("class", "").split():
            area = node
        if node.name in ("input", "textarea", "select") and attrs.get("name") == name:
            return area
        for child in node.children:
            found = search(child, area)
            if found is not None:
                return found
        return None

    area = search(parse_html(html), None)
    assert area is not None, f"no div.field holds a control named {name!r}"
    return area


def text_of(node) -> str:
    if isinstance(node, str):
        return node
    return " ".join(text_of(child) for child in node.children)


def errors_in(area: Element) -> list[str]:
    return [
        text_of(li).strip()
        for ul in _walk(area)
        if ul.name == "ul" and "errorlist" in _attrs(ul).get("class", "").split()
        for li in ul.children
        if isinstance(li, Element)
    ]


# --- images that are not acceptable -----------------------------------------------


def noise_png(size) -> bytes:
    """Random pixels do not compress: the PNG is about 3 bytes per pixel."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=0)
    return out.getvalue()


def png_with_header_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height: a decompression bomb's shape."""
    data = bytearray(png_bytes(size=(1, 1)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def upload(name: str, data: bytes, content_type="image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture(scope="module")
def over_ten_megabytes() -> bytes:
    data = noise_png((1900, 1900))  # a real PNG of about 10.3 MiB
    assert len(data) > 10 * 1024 * 1024
    return data


def _huge_but_small_png() -> bytes:
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, format="PNG")  # 48 megapixels, a few kB
    return out.getvalue()


def _bmp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="BMP")
    return out.getvalue()


# --- bad input ---------------------------------------------------------------------------

BAD_INPUT = {
    "empty prompt": (
        lambda: {"prompt": ""},
        "prompt",
        "Write a prompt: it says what to generate.",
    ),
    "whitespace prompt": (
        lambda: {"prompt": "  \n\t "},
        "prompt",
        "Write a prompt: it says what to generate.",
    ),
    "prompt over 4000 characters": (
        lambda: {"prompt": "x" * 4001},
        "prompt",
        "Ensure this value has at most 4000 characters (it has 4001).",
    ),
    "five references": (
        lambda: {"references": [image_upload(f"r{i}.png", color=(i, 0, 0)) for i in range(5)]},
        "references",
        "Add at most 4 reference images (you added 5).",
    ),
    "zero results": (lambda: {"num_results": "0"}, "num_results", "Ask for at least 1 result."),
    "101 results": (
        lambda: {"num_results": "101"},
        "num_results",
        "Ask for at most 100 results.",
    ),
    "results not a number": (
        lambda: {"num_results": "two"},
        "num_results",
        "Enter a whole number.",
    ),
    "text named x.png": (
        lambda: {"references": [upload("x.png", b"this is not a picture, just text\n" * 20)]},
        "references",
        "“x.png” is not an image that can be read (PNG, JPEG, WebP or GIF).",
    ),
    "truncated PNG": (
        lambda: {"references": [upload("cut.png", noise_png((64, 64))[:6000])]},
        "references",
        "“cut.png” is not an image that can be read (PNG, JPEG, WebP or GIF).",
    ),
    "a BMP": (
        lambda: {"references": [upload("old.bmp", _bmp(), "image/bmp")]},
        "references",
        "“old.bmp” is not a PNG, JPEG, WebP or GIF image.",
    ),
    "48 megapixels in a small file": (
        lambda: {"references": [upload("wide.png", _huge_but_small_png())]},
        "references",
        "“wide.png” is 8000×6000 pixels (48 megapixels); the limit is 40 megapixels.",
    ),
    "100 megapixels in the header": (
        lambda: {"references": [upload("big.png", png_with_header_size(10_000, 10_000))]},
        "references",
        "“big.png” is 10000×10000 pixels (100 megapixels); the limit is 40 megapixels.",
    ),
    "decompression bomb header": (
        lambda: {"references": [upload("bomb.png", png_with_header_size(50_000, 50_000))]},
        "references",
        "“bomb.png” has too many pixels to open; the limit is 40 megapixels.",
    ),
    "aspect ratio not offered": (
        lambda: {"aspect_ratio": "5:4"},
        "aspect_ratio",
        "Select a valid choice. 5:4 is not one of the available choices.",
    ),
    "watermark not offered": (
        lambda: {"watermark_mode": "STUDIO"},
        "watermark_mode",
        "Select a valid choice. STUDIO is not one of the available choices.",
    ),
}


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
@pytest.mark.parametrize("case", BAD_INPUT.keys())
def test_bad_input_is_explained_next_to_its_field_and_creates_nothing(
    client_in, media_root, django_capture_on_commit_callbacks, case, htmx
):
    fields, field_name, message = BAD_INPUT[case]

    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client_in, htmx, **fields())

    assert response.status_code == 200
    html = response.content.decode()
    _assert_form_fragment_or_page(html, htmx)
    area = field_area(html, field_name)
    assert errors_in(area) == [message]
    assert _attrs(find(html, name=field_name)[0]).get("aria-invalid") == "true"
    # Only the field at fault is marked.
    assert len(find(html, class_="errorlist")) == 1
    assert Generation.objects.count() == 0
    assert Reference.objects.count() == 0
    assert files_under(media_root) == []
    assert callbacks == [], "nothing may be enqueued"


def test_one_bad_reference_keeps_the_good_one_as_a_chip(client_in, media_root):
    # Issue 13: an error on one reference keeps the valid ones (this case used
    # to drop both, in BAD_INPUT above).
    good, bad = image_upload("good.png"), upload("bad.png", b"GIF89a nope")

    response = post(client_in, True, references=[good, bad])

    html = response.content.decode()
    assert errors_in(field_area(html, "references")) == [
        "“bad.png” is not an image that can be read (PNG, JPEG, WebP or GIF).",
        "The other 1 image was kept.",
    ]
    assert Generation.objects.count() == 0
    (kept,) = Reference.objects.all()
    assert f'name="reference_ids" value="{kept.pk}"' in html


def test_a_reference_over_ten_megabytes_is_refused(
    client_in, media_root, over_ten_megabytes
):
    response = post(client_in, True, references=[upload("noise.png", over_ten_megabytes)])

    assert response.status_code == 200
    size = len(over_ten_megabytes) / 1_048_576
    assert errors_in(field_area(response.content.decode(), "references")) == [
        f"“noise.png” is {size:.1f} MB; the limit is 10 MB."
    ]
    assert Generation.objects.count() == Reference.objects.count() == 0
    assert files_under(media_root) == []


def test_several_mistakes_are_each_shown_at_their_field(client_in):
    response = post(client_in, True, prompt=" ", num_results="101", aspect_ratio="2:1")

    html = response.content.decode()
    assert errors_in(field_area(html, "prompt")) == ["Write a prompt: it says what to generate."]
    assert errors_in(field_area(html, "num_results")) == ["Ask for at most 100 results."]
    assert errors_in(field_area(html, "aspect_ratio")) == [
        "Select a valid choice. 2:1 is not one of the available choices."
    ]
    assert errors_in(field_area(html, "watermark_mode")) == []
    # What was typed is kept, so it can be corrected.
    assert _attrs(find(html, name="num_results")[0])["value"] == "101"
    assert Generation.objects.count() == 0


def _assert_form_fragment_or_page(html: str, htmx: bool) -> None:
    if htmx:
        # Only the form: htmx swaps it in place of the one on the page.
        assert html.lstrip().startswith('<form id="generation-form"')
        assert "<html" not in html and 'id="gallery"' not in html
    else:
        assert "<html" in html and 'id="gallery"' in html
    assert len(find(html, id="generation-form")) == 1


# --- valid input -------------------------------------------------------------------------


def test_valid_post_creates_the_generation_as_asked(
    client_in, team, user, media_root, django_capture_on_commit_callbacks
):
    red = png_bytes(size=(40, 30), color=(220, 0, 0))
    jpeg = png_bytes(size=(32, 64), color=(0, 0, 200), fmt="JPEG")

    with django_capture_on_commit_callbacks() as callbacks:
        response = post(
            client_in,
            False,
            prompt="  A red fox in snow  ",
            aspect_ratio="4:3",
            num_results="3",
            watermark_mode="VIDEO_GEN",
            is_output_temporary="on",
            references=[upload("fox.png", red), upload("sky.jpg", jpeg, "image/jpeg")],
        )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert len(tasks_on_commit(callbacks)) == 1, "one submit is enqueued on commit"
    generation = Generation.objects.get()
    assert (
        generation.team,
        generation.created_by,
        generation.prompt,
        generation.aspect_ratio,
        generation.num_results,
        generation.watermark_mode,
        generation.is_output_temporary,
        generation.status,
    ) == (team, user, "A red fox in snow", "4:3", 3, "VIDEO_GEN", True, "queued")
    assert generation.created_seq == generation.seq == team.__class__.objects.get().change_seq
    references = sorted(generation.references.all(), key=lambda r: r.content_type)
    assert [(r.content_type, r.width, r.height) for r in references] == [
        ("image/jpeg", 32, 64),
        ("image/png", 40, 30),
    ]
    # Stored re-encoded without metadata (issue 14): the row describes the stored
    # bytes, and the pixels are the ones sent (exactly, for the lossless PNG).
    for reference, data in zip(references, (jpeg, red), strict=True):
        assert reference.team == team
        with reference.image.open("rb") as stored:
            kept = stored.read()
        assert reference.sha256 == hashlib.sha256(kept).hexdigest()
        assert reference.bytes == len(kept)
        if reference.content_type == "image/png":
            assert Image.open(io.BytesIO(kept)).tobytes() == Image.open(io.BytesIO(data)).tobytes()
    assert len(files_under(media_root)) == 2


@pytest.mark.parametrize("num_results", [1, 100])
def test_the_limits_of_num_results_are_accepted(client_in, num_results):
    response = post(client_in, False, num_results=str(num_results), is_output_temporary="")

    assert response.status_code == 302
    generation = Generation.objects.get()
    assert generation.num_results == num_results
    assert generation.is_output_temporary is False


def test_the_same_image_posted_twice_is_stored_once(client_in, team, media_root):
    data = png_bytes(size=(50, 50), color=(10, 200, 10))

    post(client_in, True, prompt="first", references=[upload("a.png", data)])
    post(client_in, True, prompt="second", references=[upload("renamed.png", data)])

    assert Generation.objects.count() == 2
    reference = Reference.objects.get()
    assert reference.sha256 == hashlib.sha256(data).hexdigest()
    assert [list(g.references.all()) for g in Generation.objects.order_by("pk")] == [
        [reference],
        [reference],
    ]
    assert files_under(media_root) == [reference.image.name]


def test_htmx_post_answers_a_fresh_form_and_starts_the_gallery_poller(client_in):
    response = post(
        client_in, True, prompt="A blue whale", num_results="2", watermark_mode="VIDEO_GEN"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert Generation.objects.get().prompt == "A blue whale"
    # The form comes back without errors and keeps the settings for the next try.
    form = find(html, id="generation-form")
    assert len(form) == 1
    assert find(html, class_="errorlist") == []
    assert _attrs(find(html, name="num_results")[0])["value"] == "2"
    assert text_of(find(html, name="prompt")[0]).strip() == "A blue whale"
    selected = [_attrs(o)["value"] for o in _walk(find(html, name="watermark_mode")[0])
                if o.name == "option" and "selected" in _attrs(o)]
    assert selected == ["VIDEO_GEN"]
    # The page's poller asks for the new card at once (an event; it is not replaced).
    assert find(html, id="gallery-poller") == []
    assert "studio:poll" in json.loads(response.headers["HX-Trigger"])


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_viewer_cannot_generate(client_in, user, media_root, htmx):
    Membership.objects.filter(user=user).update(role=Membership.Role.VIEWER)

    response = post(client_in, htmx, references=[image_upload()])

    assert response.status_code == 403
    assert Generation.objects.count() == Reference.objects.count() == 0
    assert files_under(media_root) == []


def test_get_is_not_allowed(client_in):
    assert client_in.get(reverse("generation_create")).status_code == 405
    assert Generation.objects.count() == 0
