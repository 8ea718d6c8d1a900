"""Zips of results, written while they are sent: never built whole in memory."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator

from .images import EXTENSIONS
from .models import Result

CHUNK = 256 * 1024


class _Pipe:
    """A write-only, unseekable file: zipfile writes into it, we hand out what it wrote.

    Without seek/tell, zipfile writes data descriptors after each member, so
    the archive can be produced front to back."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def member_names(results: list[Result]) -> dict[int, str]:
    """Zip entries named from the prompt (lighthouse-on-a-cliff-2.png), unique in the zip."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for result in results:
        stem = result.download_name.rsplit(".", 1)[0]
        extension = EXTENSIONS[result.content_type]
        name, n = f"{stem}.{extension}", 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}.{extension}"
        taken.add(name)
        names[result.pk] = name
    return names


def metadata(results: list[Result], names: dict[int, str] | None = None) -> dict:
    names = names or member_names(results)
    return {
        "images": [
            {
                "file": names[r.pk],
                "prompt": r.generation.prompt,
                "tool": r.generation.tool,
                "aspectRatio": r.generation.aspect_ratio,
                "numResults": r.generation.num_results,
                "watermarkMode": r.generation.watermark_mode,
                "isOutputTemporary": r.generation.is_output_temporary,
                "width": r.width,
                "height": r.height,
                "bytes": r.bytes,
                "sha256": r.sha256,
                "createdBy": r.generation.created_by.get_username(),
                "createdAt": r.created_at.isoformat(),
                "generationId": r.generation_id,
                "sourceResultId": r.generation.source_result_id,
                "videogenFileId": r.remote_file_id,
            }
            for r in results
        ]
    }


def zip_stream(results: list[Result]) -> Iterator[bytes]:
    pipe = _Pipe()
    names = member_names(results)
    # Images are already compressed: store them; only metadata.json is deflated.
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for result in results:
            with result.image.open("rb") as source, archive.open(
                names[result.pk], mode="w", force_zip64=True
            ) as member:
                while chunk := source.read(CHUNK):
                    member.write(chunk)
                    yield pipe.drain()
            yield pipe.drain()
        archive.writestr(
            "metadata.json",
            json.dumps(metadata(results, names), indent=2, ensure_ascii=False),
            compress_type=zipfile.ZIP_DEFLATED,
        )
    yield pipe.drain()
