"""Image checks and derivatives. Every decode goes through here, so the
limits (bytes, pixels, formats) are applied the same way everywhere."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
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


def make_thumbnail(fileobj: BinaryIO) -> bytes:
    """A WebP no larger than STUDIO_THUMBNAIL_SIZE on its longest side."""
    size = settings.STUDIO_THUMBNAIL_SIZE
    with Image.open(fileobj) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        out = io.BytesIO()
        image.save(out, format="WEBP", quality=82, method=4)
    return out.getvalue()
