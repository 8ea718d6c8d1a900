"""Checks and encodings that every group of endpoints shares: bodies, paging, cursors, times."""

from __future__ import annotations

import base64
from typing import Any

from .errors import invalid_parameters
from .web import Request

# The reference's pagination: limit 1-200, default 50.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def object_fields(body: Any, *, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_parameters("The request body must be a JSON object.")
    # Missing first: a misspelt required field is then named by its right name.
    if missing := sorted(name for name in required if name not in body):
        raise invalid_parameters(f"Missing required field(s): {', '.join(missing)}.")
    if unknown := sorted(set(body) - required - optional):
        raise invalid_parameters(f"Unknown field(s): {', '.join(unknown)}.")
    return body


def is_int(value: Any) -> bool:
    # JSON true/false arrive as bool, which is a subclass of int.
    return isinstance(value, int) and not isinstance(value, bool)


def parse_limit(request: Request) -> int:
    raw = request.query("limit")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdecimal() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise invalid_parameters(
            f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, not {raw!r}."
        )
    return int(raw)


def parse_bool_query(request: Request, name: str) -> bool | None:
    raw = request.query(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise invalid_parameters(f"{name} must be true or false, not {raw!r}.")
    return raw == "true"


# Cursors are opaque to clients; inside they name the kind of list and the seq to continue below.
def encode_cursor(kind: str, seq: int | None) -> str | None:
    if seq is None:
        return None
    return base64.urlsafe_b64encode(f"{kind}:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str) -> int | None:
    if cursor is None:
        return None
    try:
        decoded_kind, seq = (
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
        )
        if decoded_kind == kind:
            return int(seq)
    except ValueError:
        pass
    raise invalid_parameters(f"cursor {cursor!r} is not a cursor this list returned.")


def page_object(key: str, items: list[Any], kind: str, next_seq: int | None) -> dict[str, Any]:
    """A page as every list endpoint answers it: the items under `key`, hasMore, nextCursor."""
    cursor = encode_cursor(kind, next_seq)
    return {key: items, "hasMore": cursor is not None, "nextCursor": cursor}
