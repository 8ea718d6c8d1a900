"""The Content Security Policy is django-csp's (settings.CONTENT_SECURITY_POLICY).

Two additions: nonces in the URL-safe alphabet ([A-Za-z0-9_-]) instead of
base64's, so the nonce needs no escaping in the htmx-config JSON of base.html
and reads as one word wherever it is matched; and the nonce as {{ csp_nonce }}
in every template.
"""

import secrets

from csp.middleware import CSPMiddleware as BaseCSPMiddleware


class ContentSecurityPolicyMiddleware(BaseCSPMiddleware):
    # Overrides django-csp 4.0's nonce maker (pinned <5 in pyproject.toml); it
    # keeps the contract: one nonce per request, stored where the header reads it.
    def _make_nonce(self, request) -> str:
        nonce = getattr(request, "_csp_nonce", None)
        if not isinstance(nonce, str):
            nonce = secrets.token_urlsafe(16)
            request._csp_nonce = nonce
        return nonce


def csp_nonce(request):
    """Template context: {{ csp_nonce }}, the same as django-csp's {{ request.csp_nonce }}."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
