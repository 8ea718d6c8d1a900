"""The "PROOF" stamp on what a client link shows: drawn into the image bytes on
the server, so saving the preview keeps the stamp."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

TEXT = "PROOF"


def stamp(data: bytes) -> bytes:
    """`data` (any raster Pillow reads) as a WebP with PROOF written across it."""
    with Image.open(io.BytesIO(data)) as source:
        image = source.convert("RGBA")
    width, height = image.size
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(12, min(width, height) // 5))
    box = draw.textbbox((0, 0), TEXT, font=font)
    text_w, text_h = box[2] - box[0], box[3] - box[1]
    # Rows of the word, offset like bricks, so no crop of the image escapes it.
    step_x, step_y = int(text_w * 1.6) or 1, int(text_h * 2.6) or 1
    for row, y in enumerate(range(-text_h, height + text_h, step_y)):
        offset = (row % 2) * step_x // 2
        for x in range(-step_x + offset, width + step_x, step_x):
            draw.text(
                (x, y),
                TEXT,
                font=font,
                fill=(255, 255, 255, 110),
                stroke_width=2,
                stroke_fill=(0, 0, 0, 90),
            )
    out = io.BytesIO()
    Image.alpha_composite(image, layer).convert("RGB").save(out, format="WEBP", quality=80)
    return out.getvalue()
