"""What VideoGen's analysis does for kept files, in kind: a description, and search over it.

A moment after a non-temporary image is made (or uploaded), it gets a
description built from its subject (the prompt, or the upload's name) and
from what was actually drawn: its dominant colours, named, and for generated
images the shapes drawn. So a file is findable by words of its prompt and by
words that are not in it ("teal", "ellipses"). Deterministic: the same image
gets the same description.

Search embeds words, not meaning: a query and a description are bags of
lower-case words (stop words left out), compared by cosine similarity, which
is what the reference says the real search ranks by (over learned vectors).
Temporary files have no description, so they never appear.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from typing import TYPE_CHECKING

from PIL import Image

from . import images

if TYPE_CHECKING:
    from .state import StoredFile

DEFAULT_SEARCH_RESULTS = 10
MAX_SEARCH_RESULTS = 100
DOMINANT_COLOURS = 3
# A guess: the real search always ranks the closest files; here a file that shares no word
# with the query is not a match at all, so results stay meaningful in tests.
MIN_SIMILARITY = 0.0

# Named colours to describe pixels with; the nearest (in RGB) names a pixel.
COLOUR_NAMES: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 20),
    "white": (240, 240, 240),
    "grey": (128, 128, 128),
    "silver": (192, 192, 192),
    "red": (200, 30, 30),
    "maroon": (120, 20, 30),
    "orange": (240, 140, 20),
    "brown": (130, 80, 40),
    "yellow": (240, 220, 40),
    "olive": (128, 128, 20),
    "green": (40, 170, 60),
    "teal": (20, 128, 128),
    "cyan": (40, 210, 220),
    "blue": (40, 80, 220),
    "navy": (20, 30, 110),
    "purple": (120, 50, 160),
    "magenta": (220, 40, 200),
    "pink": (240, 150, 180),
}
STOP_WORDS = frozenset(
    "a an and the of in on at to with by for from is are it its this that mostly image "
    "uploaded named".split()
)
PLURALS = {"ellipse": "ellipses", "rectangle": "rectangles", "polygon": "polygons"}


def colour_name(rgb: tuple[int, int, int]) -> str:
    def distance(name: str) -> int:
        return sum((a - b) ** 2 for a, b in zip(COLOUR_NAMES[name], rgb, strict=True))

    return min(COLOUR_NAMES, key=distance)


def dominant_colours(png: bytes, count: int = DOMINANT_COLOURS) -> list[str]:
    """The names of the colours covering most of the image, most first, without repeats."""
    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("RGB")
    image.thumbnail((64, 64))
    tally: Counter[str] = Counter(colour_name(pixel) for pixel in image.getdata())
    return [name for name, _ in tally.most_common(count)]


def describe(stored: StoredFile, thumbnail_png: bytes) -> str | None:
    """The description of a file from its thumbnail; None if it cannot be decoded."""
    try:
        colours = dominant_colours(thumbnail_png)
    except Exception:
        return None
    subject = stored.subject.strip().rstrip(".") or "An image"
    text = f"{subject[0].upper()}{subject[1:]}. Mostly {_join(colours)}"
    if stored.render_spec is not None:
        tally = Counter(images.shapes_drawn(stored.render_spec))
        shapes = [f"{n} {PLURALS[kind] if n > 1 else kind}" for kind, n in sorted(tally.items())]
        text += f", with {_join(shapes)}"
    return text + "."


def words(text: str) -> Counter[str]:
    return Counter(w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP_WORDS)


def similarity(query: Counter[str], document: Counter[str]) -> float:
    dot = sum(count * document[word] for word, count in query.items())
    if not dot:
        return 0.0
    norms = math.sqrt(sum(c * c for c in query.values())) * math.sqrt(
        sum(c * c for c in document.values())
    )
    return dot / norms


def search(files: list[StoredFile], query: str, count: int) -> list[tuple[float, StoredFile]]:
    """The `count` files whose descriptions are closest to `query`, closest first."""
    wanted = words(query)
    scored = [(round(similarity(wanted, words(f.description or "")), 6), f) for f in files]
    # Newest first among equals: `files` comes newest first and sort() is stable.
    scored = [pair for pair in scored if pair[0] > MIN_SIMILARITY]
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return scored[:count]


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
