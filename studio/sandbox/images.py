"""Deterministic stand-in images for the generate-image tool.

A result is a function of (prompt, result index, reference images) only, so
tests can compare bytes: the prompt seeds the palette (all results of one
prompt look related), prompt and index seed the shapes (results differ from
one another), and reference images are blended in so that they visibly tint
the result. Drawing stays cheap (a few ms) so that 100 results are quick.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, ImageOps

MAX_SIDE = 1024
THUMBNAIL_SIDE = 256
# Share of a reference image in the result: enough to see, not enough to hide the prompt's shapes.
REFERENCE_WEIGHT = 0.35

Colour = tuple[int, int, int]


class UndecodableImage(ValueError):
    pass


def output_size(width_ratio: int, height_ratio: int) -> tuple[int, int]:
    """Pixel size for an aspect ratio, longest side MAX_SIDE (16:9 -> 1024x576)."""
    if width_ratio >= height_ratio:
        return MAX_SIDE, max(1, round(MAX_SIDE * height_ratio / width_ratio))
    return max(1, round(MAX_SIDE * width_ratio / height_ratio)), MAX_SIDE


@dataclass(frozen=True)
class RenderSpec:
    prompt: str
    index: int
    size: tuple[int, int]
    watermark: bool
    # Already fitted to `size` and never mutated, so renders may share it across threads.
    reference: Image.Image | None = None


def render_png(spec: RenderSpec) -> bytes:
    width, height = spec.size
    palette = _palette(_rng("palette", spec.prompt))
    shapes = _rng("shapes", spec.prompt, str(spec.index))

    # Vertical gradient between the first two palette colours.
    mask = Image.linear_gradient("L").resize(spec.size)
    image = Image.composite(
        Image.new("RGB", spec.size, palette[1]), Image.new("RGB", spec.size, palette[0]), mask
    )

    draw = ImageDraw.Draw(image)
    for _ in range(shapes.randint(5, 9)):
        _draw_shape(draw, shapes, palette[2:], width, height)

    if spec.reference is not None:
        image = Image.blend(image, spec.reference, REFERENCE_WEIGHT)
        draw = ImageDraw.Draw(image)

    _draw_labels(draw, spec, width, height)
    return encode_png(image)


def decode_reference(data: bytes, size: tuple[int, int]) -> Image.Image:
    """Decode an uploaded image and crop-to-fill it to `size`, as the reference layer."""
    try:
        with Image.open(io.BytesIO(data)) as source:
            # For JPEGs, let the decoder downscale: far cheaper than decoding full size.
            source.draft("RGB", size)
            image = ImageOps.exif_transpose(source).convert("RGB")
    except Exception as exc:  # Pillow raises many types for bad data; all mean "not an image".
        raise UndecodableImage(str(exc)) from exc
    return ImageOps.fit(image, size, Image.Resampling.BILINEAR)


def blend_references(layers: list[Image.Image]) -> Image.Image:
    """One layer from several references: their equal-weight average."""
    combined = layers[0]
    for count, layer in enumerate(layers[1:], start=2):
        combined = Image.blend(combined, layer, 1 / count)
    return combined


def probe(data: bytes) -> str | None:
    """The MIME type of `data` if Pillow can decode it, else None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return Image.MIME.get(image.format or "", "application/octet-stream")
    except Exception:
        return None


def thumbnail_png(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as source:
        source.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        image = ImageOps.exif_transpose(source)
        # A cut-out (background removed) keeps its transparency in the thumbnail too.
        transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "RGB")
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return encode_png(image)


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # Light compression: encoding dominates the cost and these images are throwaway.
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _rng(*parts: str) -> random.Random:
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _palette(rng: random.Random) -> list[Colour]:
    # Two background colours, then accents for the shapes.
    return [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(6)]


def _draw_shape(
    draw: ImageDraw.ImageDraw, rng: random.Random, accents: list[Colour], width: int, height: int
) -> None:
    colour = rng.choice(accents)
    outline = tuple(channel // 2 for channel in colour)
    scale = min(width, height)
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    radius = rng.uniform(0.08, 0.3) * scale
    box = (
        cx - radius,
        cy - radius * rng.uniform(0.5, 1.5),
        cx + radius,
        cy + radius * rng.uniform(0.5, 1.5),
    )
    kind = rng.choice(("ellipse", "rectangle", "polygon"))
    if kind == "ellipse":
        draw.ellipse(box, fill=colour, outline=outline, width=3)
    elif kind == "rectangle":
        draw.rectangle(box, fill=colour, outline=outline, width=3)
    else:
        draw.regular_polygon(
            (cx, cy, radius),
            n_sides=rng.randint(3, 8),
            rotation=rng.uniform(0, 360),
            fill=colour,
            outline=outline,
        )


def _draw_labels(draw: ImageDraw.ImageDraw, spec: RenderSpec, width: int, height: int) -> None:
    """The result index and the prompt in a strip at the bottom; the watermark above it."""
    font_size = max(10, min(18, min(width, height) // 32))
    strip = font_size + 8
    if height < 3 * strip:
        return  # Extreme ratios leave no room for text; the shapes alone still differ.
    font = ImageFont.load_default(size=font_size)
    draw.rectangle((0, height - strip, width, height), fill=(16, 16, 16))
    caption = _fit_text(draw, f"#{spec.index + 1}  {spec.prompt}", font, width - 16)
    draw.text((8, height - strip + 4), caption, font=font, fill=(235, 235, 235))
    if spec.watermark:
        mark = "VideoGen"
        x = width - draw.textlength(mark, font=font) - 10
        y = height - 2 * strip
        draw.text((x + 1, y + 1), mark, font=font, fill=(0, 0, 0))
        draw.text((x, y), mark, font=font, fill=(255, 255, 255))


def _fit_text(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, max_width: float
) -> str:
    text = " ".join(text.split())  # newlines would break the one-line caption
    if draw.textlength(text, font=font) <= max_width:
        return text
    # Estimate the cut from the average glyph width, then trim the few extra characters.
    keep = int(len(text) * max_width / draw.textlength(text, font=font))
    while keep > 0 and draw.textlength(text[:keep] + "...", font=font) > max_width:
        keep -= 1
    return text[:keep] + "..."


class _ShapeRecorder:
    """Stands in for ImageDraw to learn which shapes `render_png` draws, without drawing."""

    def __init__(self) -> None:
        self.kinds: list[str] = []

    def ellipse(self, *args: object, **kwargs: object) -> None:
        self.kinds.append("ellipse")

    def rectangle(self, *args: object, **kwargs: object) -> None:
        self.kinds.append("rectangle")

    def regular_polygon(self, *args: object, **kwargs: object) -> None:
        self.kinds.append("polygon")


def shapes_drawn(spec: RenderSpec) -> list[str]:
    """The kinds of shape render_png draws for `spec` ("ellipse", "rectangle", "polygon")."""
    palette = _palette(_rng("palette", spec.prompt))
    shapes = _rng("shapes", spec.prompt, str(spec.index))
    recorder = _ShapeRecorder()
    width, height = spec.size
    for _ in range(shapes.randint(5, 9)):
        _draw_shape(recorder, shapes, palette[2:], width, height)  # type: ignore[arg-type]
    return recorder.kinds
