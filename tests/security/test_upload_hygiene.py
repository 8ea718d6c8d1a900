"""References lose their metadata before they are stored or sent to VideoGen,
upright first; an over-large body is a 413 before it is read (issue 14, §4)."""

from __future__ import annotations

import io
import socket
import time

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image

from studio.generations.models import Generation, Reference
from studio.videogen import client_from_settings
from tests.conftest import wait_for

HTMX = {"HX-Request": "true"}
MAKER = "NosyCam Model X"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def camera_jpeg(size=(60, 20), orientation=6) -> bytes:
    """A JPEG as a phone writes it: maker, GPS position, a comment, XMP and an
    orientation tag saying "rotate 90° to view" (so it is stored sideways)."""
    image = Image.new("RGB", size, (10, 120, 200))
    image.paste((250, 250, 0), (0, 0, 10, 10))  # a marker in the stored top-left corner
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKER
    exif[ExifTags.Base.Model] = "X-1"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.0),
    }
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>secret-xmp</rdf:RDF></x:xmpmeta>'
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"secret-comment", xmp=xmp, quality=95)
    return out.getvalue()


def assert_clean(data: bytes):
    for leak in (MAKER.encode(), b"secret-comment", b"secret-xmp", b"Exif\x00\x00"):
        assert leak not in data, leak
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif(), dict(image.getexif())
        assert "xmp" not in image.info and "comment" not in image.info


def post_form(client, *files, **fields):
    data = {"prompt": "a quiet harbour", "aspect_ratio": "16:9", "num_results": "1",
            "watermark_mode": "AUTO", "references": list(files), **fields}
    return client.post(reverse("generation_create"), data, headers=HTMX)


def test_camera_metadata_is_stripped_and_the_image_turned_upright(client_in):
    original = camera_jpeg()
    assert MAKER.encode() in original  # the fixture really carries it

    response = post_form(client_in, SimpleUploadedFile("phone.jpg", original, "image/jpeg"))

    assert response.status_code == 200
    reference = Reference.objects.get()
    with reference.image.open("rb") as stored:
        data = stored.read()
    assert_clean(data)
    # Orientation 6: the 60×20 stored pixels are shown 20×60, marker at the top right.
    assert (reference.width, reference.height) == (20, 60)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (20, 60)
        r, g, b = image.convert("RGB").getpixel((17, 2))
        assert r > 200 and g > 200 and b < 80
    # The row describes the stored bytes, and what members are served is them.
    assert reference.bytes == len(data)
    served = b"".join(client_in.get(reverse("reference_media", args=[reference.pk])))
    assert served == data


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_metadata_is_stripped_too(client_in, fmt):
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKER
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (1, 2, 3, 128)).save(out, format=fmt, exif=exif)
    assert MAKER.encode() in out.getvalue()

    post_form(client_in, SimpleUploadedFile(f"x.{fmt.lower()}", out.getvalue()))

    with Reference.objects.get().image.open("rb") as stored:
        assert_clean(stored.read())


def test_an_animated_gif_keeps_its_frames(client_in):
    colors = ((255, 0, 0), (0, 255, 0), (0, 0, 255))
    frames = [Image.new("RGB", (16, 16), color) for color in colors]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=90,
                   loop=0, comment=b"secret-comment")
    post_form(client_in, SimpleUploadedFile("a.gif", out.getvalue()))
    with Reference.objects.get().image.open("rb") as stored, Image.open(stored) as image:
        assert image.n_frames == 3 and image.info.get("duration") == 90
        assert "comment" not in image.info


def test_what_videogen_receives_has_no_metadata(client_in, celery_worker):
    post_form(client_in, SimpleUploadedFile("phone.jpg", camera_jpeg(), "image/jpeg"))
    reference = wait_for(
        lambda: Reference.objects.filter(uploaded_at__isnull=False).first(),
        message=lambda: f"reference not uploaded: {list(Generation.objects.values('status'))}",
    )
    file = client_from_settings().hydrate_file(reference.remote_file_id)
    uploaded = httpx.get(file.download.url, timeout=10).content
    assert_clean(uploaded)
    with reference.image.open("rb") as stored:
        assert uploaded == stored.read()


# --- size of the whole body --------------------------------------------------------------------


def test_an_oversized_multipart_body_is_413_with_a_message(client_in, settings, media_root):
    settings.STUDIO_MAX_REQUEST_BYTES = 3 * 1024 * 1024
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"\x00" * (4 * 1024 * 1024), "image/png")

    response = post_form(client_in, big)

    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert "studio:error" in response["HX-Trigger"]  # the page shows it as a toast
    assert Generation.objects.count() == 0 and not media_root.exists()


def test_a_huge_declared_body_is_refused_before_it_is_sent(live_server, user):
    """Over a real socket: headers claiming 2 GB and a few bytes of body. A server
    that read the body first would wait for the rest; this one answers at once."""
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            b"POST /generations/ HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: multipart/form-data; boundary=xyz\r\n"
            b"Content-Length: 2147483648\r\n\r\n--xyz\r\n"
        )
        started = time.monotonic()
        answer = conn.recv(4096)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert elapsed < 5
