"""Real, small image work for the sibling tools: upscale, remove background, vectorize.

Each takes the source file's bytes and returns the result's bytes; all are
deterministic, so a result drawn twice is the same file. They are cheap
stand-ins for VideoGen's models, but their outputs have the properties a
client may rely on: twice the pixels, a real alpha channel, a real SVG.
"""

from __future__ import annotations

import io
from collections import deque

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

from .images import THUMBNAIL_SIDE, UndecodableImage, encode_png

# A larger source is refused by the upscaler: its output would pass 8192 px a side.
MAX_UPSCALE_SIDE = 4096
# Background removal: colour distance (0-255, largest channel difference) from the
# background colour below which a pixel is background, and above which it is subject;
# in between it is partly transparent, which gives the soft edge.
BACKGROUND_NEAR = 24
SUBJECT_FAR = 72
# The background is found at this resolution: plenty for a mask that is then smoothed.
MASK_SIDE = 192
# Rows over which the backdrop's colour is taken (odd: a median window).
BACKDROP_ROWS = 31
# Vectorizing: the longest side of the grid the image is traced on, and the palette size.
VECTOR_GRID_SIDE = 64
VECTOR_COLOURS = 8
WATERMARK = "VideoGen"


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header, or None when Pillow does not know the format."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return None


def upscale_png(data: bytes, *, watermark: bool) -> bytes:
    image = _decode(data)
    image = image.resize((image.width * 2, image.height * 2), Image.Resampling.LANCZOS)
    if watermark:
        _draw_watermark(image)
    return encode_png(image)


def remove_background_png(data: bytes, *, watermark: bool) -> bytes:
    image = _decode(data)
    rgb = image.convert("RGB")
    background = _backdrop(rgb)

    # Distance of each pixel from the backdrop: its largest channel difference.
    difference = ImageChops.difference(rgb, background)
    red, green, blue = difference.split()
    distance = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    span = SUBJECT_FAR - BACKGROUND_NEAR
    ramp = distance.point(
        lambda d: 0 if d <= BACKGROUND_NEAR else min(255, (d - BACKGROUND_NEAR) * 255 // span)
    )

    # Only background reachable from the border goes: a white button on a white
    # shirt stays. `reached` is 255 there, smoothed so that its edge is soft too.
    reached = _reached_from_border(distance).resize(rgb.size, Image.Resampling.BILINEAR)
    alpha = ImageChops.lighter(ramp, ImageChops.invert(reached))
    if image.mode == "RGBA":  # what was transparent already stays so
        alpha = ImageChops.darker(alpha, image.getchannel("A"))

    result = rgb.convert("RGBA")
    result.putalpha(alpha)
    if watermark:
        _draw_watermark(result)
    return encode_png(result)


def vectorize_svg(data: bytes, *, watermark: bool) -> bytes:
    """An SVG of the image traced on a coarse grid: per palette colour, one path of rectangles."""
    image = _decode(data)
    grid, opaque = _vector_grid(image)
    columns, rows = grid.size
    palette = grid.getpalette() or []
    cells = grid.load()
    solid = opaque.load()

    # Runs of one colour along each row; runs stacked over the same columns make one rectangle.
    rectangles: dict[int, list[tuple[int, int, int, int]]] = {}
    open_runs: dict[tuple[int, int, int], int] = {}  # (colour, x, width) -> top row
    for y in range(rows + 1):
        runs = set()
        x = 0
        while y < rows and x < columns:
            colour = cells[x, y]
            start = x
            while x < columns and cells[x, y] == colour and solid[x, y]:
                x += 1
            if x == start:  # a transparent cell
                x += 1
                continue
            runs.add((colour, start, x - start))
        for run in list(open_runs):
            if run not in runs:
                colour, left, width = run
                top = open_runs.pop(run)
                rectangles.setdefault(colour, []).append((left, top, width, y - top))
        for run in runs:
            open_runs.setdefault(run, y)

    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{image.width}" height="{image.height}" '
        f'viewBox="0 0 {columns} {rows}" preserveAspectRatio="none" shape-rendering="crispEdges">',
    ]
    for colour in sorted(rectangles):
        red, green, blue = palette[colour * 3 : colour * 3 + 3]
        path = "".join(f"M{x} {y}h{w}v{h}h-{w}z" for x, y, w, h in sorted(rectangles[colour]))
        parts.append(f'<path fill="#{red:02x}{green:02x}{blue:02x}" d="{path}"/>')
    if watermark:
        size = max(1.0, rows / 16)
        parts.append(
            f'<text x="{columns - size / 2:g}" y="{rows - size / 2:g}" font-size="{size:g}" '
            f'text-anchor="end" fill="#ffffff" fill-opacity="0.8" '
            f'font-family="sans-serif">{WATERMARK}</text>'
        )
    parts.append("</svg>")
    return ("\n".join(parts) + "\n").encode()


def vector_thumbnail_png(data: bytes) -> bytes:
    """A thumbnail of what `vectorize_svg` draws, since Pillow cannot draw SVG itself."""
    image = _decode(data)
    grid, opaque = _vector_grid(image)
    preview = grid.convert("RGBA")
    preview.putalpha(opaque)
    scale = THUMBNAIL_SIDE / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return encode_png(preview.resize(size, Image.Resampling.NEAREST))


def _decode(data: bytes) -> Image.Image:
    """The image upright, as RGBA when it has transparency and RGB otherwise."""
    try:
        with Image.open(io.BytesIO(data)) as source:
            image = ImageOps.exif_transpose(source)
            transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            return image.convert("RGBA" if transparent else "RGB")
    except Exception as exc:  # Pillow raises many types for bad data; all mean "not an image".
        raise UndecodableImage(str(exc)) from exc


def _backdrop(image: Image.Image) -> Image.Image:
    """The backdrop as an image: per row, the median colour of the left and right
    edges over nearby rows. A plain studio backdrop and a vertical gradient
    are both followed, and a subject touching one edge does not throw it off."""
    width, height = image.size
    edges = Image.new("RGB", (2, height))
    edges.paste(image.crop((0, 0, 1, height)), (0, 0))
    edges.paste(image.crop((width - 1, 0, width, height)), (1, 0))
    window = min(BACKDROP_ROWS, height - (1 - height % 2))  # odd, at most the height
    if window >= 3:
        edges = edges.filter(ImageFilter.MedianFilter(window))
    return edges.resize((width, height), Image.Resampling.NEAREST)


def _reached_from_border(distance: Image.Image) -> Image.Image:
    """255 where background-like pixels connect to the border, on a small copy of `distance`."""
    scale = min(1.0, MASK_SIDE / max(distance.size))
    width = max(1, round(distance.width * scale))
    height = max(1, round(distance.height * scale))
    small = distance.resize((width, height), Image.Resampling.BOX)
    near = small.tobytes()
    threshold = (BACKGROUND_NEAR + SUBJECT_FAR) // 2
    reached = bytearray(width * height)
    queue = deque(
        index
        for index in (
            *range(width),  # top row
            *range((height - 1) * width, height * width),  # bottom row
            *range(0, height * width, width),  # left column
            *range(width - 1, height * width, width),  # right column
        )
    )
    while queue:  # breadth-first fill over background-like pixels
        index = queue.popleft()
        if reached[index] or near[index] > threshold:
            continue
        reached[index] = 255
        x = index % width
        if x > 0:
            queue.append(index - 1)
        if x < width - 1:
            queue.append(index + 1)
        if index >= width:
            queue.append(index - width)
        if index < (height - 1) * width:
            queue.append(index + width)
    return Image.frombytes("L", (width, height), bytes(reached))


def _vector_grid(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The image on the tracing grid: palette cells, and a mask of the cells that are opaque."""
    scale = min(1.0, VECTOR_GRID_SIDE / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    small = image.resize(size, Image.Resampling.BOX)
    opaque = (
        small.getchannel("A").point(lambda a: 255 if a >= 128 else 0)
        if small.mode == "RGBA"
        else Image.new("L", size, 255)
    )
    grid = small.convert("RGB").quantize(VECTOR_COLOURS, Image.Quantize.MEDIANCUT)
    return grid, opaque


def _draw_watermark(image: Image.Image) -> None:
    """The word VideoGen in the bottom-right corner, as on generated images."""
    font_size = max(10, min(18, min(image.size) // 32))
    if min(image.size) < 3 * font_size:
        return  # no room: a tiny image stays unmarked
    font = ImageFont.load_default(size=font_size)
    draw = ImageDraw.Draw(image)
    x = image.width - draw.textlength(WATERMARK, font=font) - 10
    y = image.height - font_size - 10
    draw.text((x + 1, y + 1), WATERMARK, font=font, fill=(0, 0, 0, 255))
    draw.text((x, y), WATERMARK, font=font, fill=(255, 255, 255, 255))
