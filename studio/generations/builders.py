"""Results as ingest leaves them, made without VideoGen.

seed_gallery (benchmarks, demos) and the test suite's factories build their
rows here, so there is one idea of what a stored result holds: its files in
storage, their size, type and hash.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from .images import EXTENSIONS, ImageInfo, inspect_result, make_thumbnail
from .models import Generation, Result


@dataclass(frozen=True)
class StoredImage:
    """An image and its thumbnail in storage, with what a result records of them."""

    image: str
    thumbnail: str
    info: ImageInfo


def store_image(data: bytes, name: str) -> StoredImage:
    """Store `data` as `name` plus its extension, and its WebP thumbnail beside it.

    A file already stored under a name is kept: names are expected to say
    what they hold (the seed's are content hashes), so a re-run adds nothing.
    """
    info = inspect_result(
        io.BytesIO(data),
        max_bytes=settings.STUDIO_MAX_RESULT_BYTES,
        max_pixels=settings.STUDIO_MAX_RESULT_PIXELS,
    )
    image = _save_once(f"{name}.{EXTENSIONS[info.content_type]}", data)
    thumbnail = _save_once(f"{name}.webp", make_thumbnail(io.BytesIO(data)))
    return StoredImage(image=image, thumbnail=thumbnail, info=info)


def build_result(generation: Generation, position: int, stored: StoredImage, **fields) -> Result:
    """An unsaved result of `generation` showing `stored`; `fields` set the rest
    (or override, e.g. a `remote_file_id` or `review_state`)."""
    info = stored.info
    values = {
        "team_id": generation.team_id,
        "generation": generation,
        "position": position,
        "remote_file_id": f"vg_file_{generation.pk}_{position}",
        "image": stored.image,
        "thumbnail": stored.thumbnail,
        "content_type": info.content_type,
        "width": info.width,
        "height": info.height,
        "bytes": info.bytes,
        "sha256": info.sha256,
    }
    return Result(**{**values, **fields})


def _save_once(name: str, data: bytes) -> str:
    if default_storage.exists(name):
        return name
    return default_storage.save(name, ContentFile(data))
