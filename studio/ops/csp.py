"""A Content Security Policy with a fresh nonce per response.

Scripts and styles come from our own origin; the only inline ones are those
htmx inserts (its indicator styles), which carry the nonce through the
htmx-config meta tag in base.html.
"""

import secrets

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        # Media responses set their own, stricter policy.
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy(request.csp_nonce)
        return response


def policy(nonce: str) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{nonce}'",
        "style-src": f"'self' 'nonce-{nonce}'",
        # blob: for the previews of chosen reference images.
        "img-src": "'self' data: blob:" + "".join(f" {o}" for o in settings.STUDIO_CSP_IMG_ORIGINS),
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def csp_nonce(request):
    """Template context: {{ csp_nonce }}."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
