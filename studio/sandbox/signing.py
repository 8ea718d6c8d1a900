"""Signed storage URLs, in the manner of S3/R2 presigned URLs.

The signature is an HMAC over (action, file id, expiry) with a secret made
fresh for each process, so URLs work without an API key, only for the object
and action they were made for, and only until they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from urllib.parse import urlencode

from .errors import ApiError


class UrlSigner:
    def __init__(self, ttl_seconds: float, secret: bytes | None = None) -> None:
        self.ttl_seconds = ttl_seconds
        self._secret = secret or secrets.token_bytes(32)

    def sign(self, base_url: str, action: str, file_id: str, now: float) -> tuple[str, int]:
        """An absolute URL for `action` on `file_id`, and its expiry in unix seconds."""
        # Whole seconds, as in presigned URLs; rounding up never shortens the promised TTL.
        expires = math.ceil(now + self.ttl_seconds)
        query = urlencode({"token": self._token(action, file_id, expires), "expires": expires})
        return f"{base_url}/_storage/{action}/{file_id}?{query}", expires

    def verify(
        self, action: str, file_id: str, token: str | None, expires: str | None, now: float
    ) -> None:
        if not token or not expires or not expires.isdecimal():
            raise ApiError(
                403,
                "invalid_signature",
                "This storage URL is not signed: it needs token and expires.",
            )
        if not hmac.compare_digest(token, self._token(action, file_id, int(expires))):
            raise ApiError(
                403, "invalid_signature", "The signature of this storage URL does not match."
            )
        if now > int(expires):
            raise ApiError(
                403,
                "url_expired",
                "This signed storage URL has expired; ask the API for a fresh one.",
            )

    def _token(self, action: str, file_id: str, expires: int) -> str:
        message = f"{action}\n{file_id}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
