"""--result-padding-bytes: big results for ingest benchmarks, still valid PNGs."""

from __future__ import annotations

import io

from PIL import Image

from tests.sandbox.conftest import client_for
from tests.sandbox.helpers import download, generate

PADDING = 4_000_000


def test_generated_pngs_grow_by_the_padding_and_decode_to_the_same_image(sandbox_factory):
    padded_box = sandbox_factory(
        "--pending-seconds",
        "0",
        "--running-seconds",
        "0",
        "--result-padding-bytes",
        str(PADDING),
    )
    plain_box = sandbox_factory("--pending-seconds", "0", "--running-seconds", "0")
    fields = {"prompt": "a tall ship", "aspectRatio": {"width": 1, "height": 1}}
    with client_for(padded_box) as padded_api, client_for(plain_box) as plain_api:
        padded = download(padded_api, generate(padded_api, **fields)["results"][0]["fileId"])
        plain = download(plain_api, generate(plain_api, **fields)["results"][0]["fileId"])

    assert len(padded) == len(plain) + PADDING + 12  # the chunk's length, type and CRC
    with Image.open(io.BytesIO(padded)) as image:
        image.verify()  # every chunk's CRC checks out
    with Image.open(io.BytesIO(padded)) as big, Image.open(io.BytesIO(plain)) as small:
        assert big.tobytes() == small.tobytes()
