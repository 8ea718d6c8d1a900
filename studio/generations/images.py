"""Image checks and derivatives. Every decode goes through here, so the
limits (bytes, pixels, formats) are applied the same way everywhere."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import BinaryIO
from xml.etree import ElementTree

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
SVG = "image/svg+xml"
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    SVG: "svg",
}


class InvalidImage(ValueError):
    """The bytes are not an image Studio accepts; the message says why, for a person."""


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    content_type: str
    sha256: str
    bytes: int


def inspect_image(fileobj: BinaryIO, *, max_bytes: int, max_pixels: int) -> ImageInfo:
    """Check that fileobj is a decodable image within the limits.

    The pixel count is read from the header before anything is decoded, so a
    decompression bomb is refused without being expanded in memory.
    """
    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(0)
    if size > max_bytes:
        raise InvalidImage(
            f"is {size / 1_048_576:.1f} MB; the limit is {max_bytes / 1_048_576:.0f} MB."
        )
    digest = hashlib.sha256()
    for chunk in iter(lambda: fileobj.read(1 << 16), b""):
        digest.update(chunk)
    fileobj.seek(0)
    try:
        with Image.open(fileobj) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImage(
                    f"is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
                    f"the limit is {max_pixels / 1e6:.0f} megapixels."
                )
            if image.format not in ACCEPTED_FORMATS:
                raise InvalidImage("is not a PNG, JPEG, WebP or GIF image.")
            image.load()  # a truncated or corrupt file fails here, not later
            content_type = ACCEPTED_FORMATS[image.format]
    except InvalidImage:
        raise
    except Image.DecompressionBombError:
        # Pillow refuses such a header in open(), before the size can be read.
        raise InvalidImage(
            f"has too many pixels to open; the limit is {max_pixels / 1e6:.0f} megapixels."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise InvalidImage("is not an image that can be read (PNG, JPEG, WebP or GIF).") from None
    finally:
        fileobj.seek(0)
    return ImageInfo(width, height, content_type, digest.hexdigest(), size)


# What a re-encoded image keeps of its source's info: how to draw it, nothing about
# where, when or with what it was made (EXIF, GPS, XMP, comments are dropped).
_KEPT_INFO = ("duration", "loop", "transparency", "background", "disposal")
_SAVE_OPTIONS = {
    "JPEG": {"quality": 95},
    "PNG": {},
    "WEBP": {"quality": 95},
    "GIF": {},
}


def strip_metadata(fileobj: BinaryIO, info: ImageInfo) -> tuple[bytes, ImageInfo]:
    """The image re-encoded without its metadata, turned upright first (EXIF
    orientation applied), and its new ImageInfo (size, hash and bytes change).

    Call after inspect_image: the limits are already checked. The colour
    profile is kept, so colours stay as they were.
    """
    fileobj.seek(0)
    with Image.open(fileobj) as source:
        fmt = source.format
        animated = getattr(source, "n_frames", 1) > 1
        icc = source.info.get("icc_profile")
        options = dict(_SAVE_OPTIONS[fmt])
        if animated:  # every frame, as it was (animations carry no orientation)
            image = source
            options["save_all"] = True
        else:
            image = ImageOps.exif_transpose(source)
        image.info = {k: v for k, v in source.info.items() if k in _KEPT_INFO}
        if icc:
            options["icc_profile"] = icc
        out = io.BytesIO()
        image.save(out, format=fmt, exif=b"", **options)
        width, height = image.size
    fileobj.seek(0)
    data = out.getvalue()
    cleaned = ImageInfo(width, height, info.content_type, hashlib.sha256(data).hexdigest(),
                        len(data))
    return data, cleaned


def inspect_result(fileobj: BinaryIO, *, max_bytes: int, max_pixels: int) -> ImageInfo:
    """Like inspect_image, but a result may also be an SVG (from vectorize-image)."""
    fileobj.seek(0)
    head = fileobj.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
    fileobj.seek(0)
    if not head.startswith(b"<"):
        return inspect_image(fileobj, max_bytes=max_bytes, max_pixels=max_pixels)
    return _inspect_svg(fileobj, max_bytes=max_bytes)


def _inspect_svg(fileobj: BinaryIO, *, max_bytes: int) -> ImageInfo:
    data = fileobj.read(max_bytes + 1)
    fileobj.seek(0)
    if len(data) > max_bytes:
        raise InvalidImage(f"is larger than {max_bytes / 1_048_576:.0f} MB.")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InvalidImage("is an SVG with a document type, which Studio does not accept.")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        raise InvalidImage("is not a well-formed SVG image.") from None
    if root.tag.rsplit("}", 1)[-1] != "svg":
        raise InvalidImage("is not an SVG image.")
    width, height = _svg_size(root)
    return ImageInfo(width, height, SVG, hashlib.sha256(data).hexdigest(), len(data))


def _svg_size(root) -> tuple[int, int]:
    def number(value):
        try:
            return round(float((value or "").removesuffix("px")))
        except ValueError:
            return None

    width, height = number(root.get("width")), number(root.get("height"))
    if width and height:
        return width, height
    parts = (root.get("viewBox") or "").replace(",", " ").split()
    if len(parts) == 4 and number(parts[2]) and number(parts[3]):
        return number(parts[2]), number(parts[3])
    raise InvalidImage("is an SVG without a size (no width/height or viewBox).")


def make_thumbnail(fileobj: BinaryIO) -> bytes:
    """A WebP no larger than STUDIO_THUMBNAIL_SIZE on its longest side."""
    size = settings.STUDIO_THUMBNAIL_SIZE
    with Image.open(fileobj) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        out = io.BytesIO()
        # method 2, not 4: a third of the encoding time (it is on the way to the
        # card), for files a few per cent larger.
        image.save(out, format="WEBP", quality=82, method=2)
    return out.getvalue()
