"""Hostile uploads and bodies through the real form and receiver: decompression
bombs, files that only pretend to be images, and bodies that are too big.
tests/generations/test_create_form.py has the ordinary bad input (text named
.png, headers claiming huge sizes, a BMP, an 11 MB reference)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from studio.generations.models import Generation, Reference
from studio.webhooks.models import WebhookDelivery
from tests.fixtures.factories import png_bytes

HTMX = {"HX-Request": "true"}


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def post_form(client, **fields):
    data = {"prompt": "a quiet harbour", "aspect_ratio": "16:9", "num_results": "1",
            "watermark_mode": "AUTO", **fields}
    return client.post(reverse("generation_create"), data, headers=HTMX)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def zlib_bomb_png(side: int) -> bytes:
    """A real bomb: side×side black 1-bit pixels whose IDAT really inflates to
    side²/8 bytes (50 MB for 20 000²), in a file of a few dozen kB."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + side // 8)  # filter byte + packed pixels
    body = b"".join(compressor.compress(row * 500) for _ in range(side // 500))
    body += compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body)
            + _chunk(b"IEND", b""))


def _peak_rss_reset() -> bool:
    """Reset this process's peak RSS (Linux), so the next reading is of what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _errors(response) -> str:
    return response.content.decode()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [12_000, 20_000], ids=["144-megapixels", "400-megapixels"])
def test_a_real_decompression_bomb_is_refused_without_being_inflated(client_in, media_root, side):
    bomb = zlib_bomb_png(side)
    assert len(bomb) < 200_000  # small on the wire...
    reset = _peak_rss_reset()
    before = _peak_rss_mb()

    response = post_form(client_in, references=[SimpleUploadedFile("bomb.png", bomb, "image/png")])

    assert response.status_code == 200
    assert "megapixels" in _errors(response)
    assert Generation.objects.count() == Reference.objects.count() == 0
    assert stored_files(media_root) == []
    if reset:  # ...and never inflated: decoding would take side² bytes (144 MB or more)
        assert _peak_rss_mb() - before < 60, f"peak grew by {_peak_rss_mb() - before:.0f} MB"


PRETENDERS = {
    "svg with script": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
                       b"<script>alert(document.cookie)</script></svg>",
    "html page": b"<!doctype html><html><body><script>alert(1)</script></body></html>",
    "pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
    "gif header then html": b"GIF89a<html><script>alert(1)</script></html>",
    "png header then garbage": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    "zip": b"PK\x03\x04" + b"\x00" * 60,
}


@pytest.mark.parametrize("name", PRETENDERS, ids=list(PRETENDERS))
def test_a_file_that_only_pretends_to_be_a_png_is_refused(client_in, media_root, name):
    upload = SimpleUploadedFile("photo.png", PRETENDERS[name], content_type="image/png")

    response = post_form(client_in, references=[upload])

    assert response.status_code == 200
    assert "“photo.png” is not an image that can be read" in _errors(response)
    assert Generation.objects.count() == Reference.objects.count() == 0
    assert stored_files(media_root) == []


def test_the_type_comes_from_the_bytes_not_the_name_or_header(client_in, team, media_root):
    jpeg = png_bytes(size=(40, 30), fmt="JPEG")
    upload = SimpleUploadedFile("photo.png", jpeg, content_type="image/png")

    assert post_form(client_in, references=[upload]).status_code == 200

    reference = Reference.objects.get()
    assert reference.content_type == "image/jpeg"
    assert reference.image.name.endswith(".jpg")
    served = client_in.get(reverse("reference_media", args=[reference.pk]))
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"


def test_a_form_body_over_the_limit_is_a_400_and_creates_nothing(client_in, settings):
    too_big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = post_form(client_in, prompt=too_big)

    assert response.status_code == 400
    assert Generation.objects.count() == 0


def test_a_form_with_thousands_of_fields_is_a_400(client_in, settings):
    fields = {f"f{n}": "x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}

    assert post_form(client_in, **fields).status_code == 400
    assert Generation.objects.count() == 0


def test_a_25_megabyte_reference_is_refused_and_not_kept(client_in, media_root):
    out = io.BytesIO()
    Image.frombytes("L", (5000, 5000), bytes(range(256)) * 97657 + b"\x00" * 8).save(
        out, format="BMP"
    )
    big = b"\x89PNG" + out.getvalue()  # 25 MB that claim to be a PNG
    assert len(big) > 25_000_000

    response = post_form(client_in, references=[SimpleUploadedFile("big.png", big, "image/png")])

    assert response.status_code == 200
    assert "the limit is 10 MB" in _errors(response)
    assert stored_files(media_root) == [] and Generation.objects.count() == 0


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 6 * 1024 * 1024])
def test_an_oversized_webhook_body_is_413_before_it_is_read(client, db, size):
    response = client.post(
        reverse("webhook_receive"),
        b"{" + b" " * (size - 2) + b"}",
        content_type="application/json",
        HTTP_WEBHOOK_ID="msg_big",
        HTTP_WEBHOOK_TIMESTAMP="1",
        HTTP_WEBHOOK_SIGNATURE="v1,x",
    )

    assert response.status_code == 413
    assert not WebhookDelivery.objects.exists()
