"""Webhook endpoints: create (the only answer with the secret), list, delete.

Shapes from the reference: the list is ``{endpoints, hasMore, nextCursor}``,
``createdAt`` is unix seconds. A DELETE answers 204 without a body: VideoGen
does not say, and the SDK takes an empty answer as None.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .api import Sandbox, router
from .errors import invalid_id, invalid_parameters
from .params import decode_cursor, object_fields, page_object, parse_limit
from .web import Request, Response, json_response
from .webhooks import ENDPOINT_PREFIX, EVENTS, Endpoint

MAX_URL_CHARS = 2048
MAX_DESCRIPTION_CHARS = 1000


@router.route("POST", "/v1/webhooks/endpoints", group="webhooks_create")
def create_webhook_endpoint(app: Sandbox, request: Request) -> Response:
    fields = object_fields(request.json(), required={"url", "events"}, optional={"description"})
    url = _parse_url(fields["url"])
    events = _parse_events(fields["events"])
    description = fields.get("description")
    if description is not None and not isinstance(description, str):
        raise invalid_parameters(f"description must be a string, not {description!r}.")
    if description is not None and len(description) > MAX_DESCRIPTION_CHARS:
        raise invalid_parameters(
            f"description must be at most {MAX_DESCRIPTION_CHARS} characters long."
        )
    endpoint = app.webhooks.create_endpoint(url, events, description)
    # Shown this once: afterwards only its last four characters.
    return json_response(201, {**endpoint_object(endpoint), "signingSecret": endpoint.secret})


@router.route("GET", "/v1/webhooks/endpoints", group="webhooks_list")
def list_webhook_endpoints(app: Sandbox, request: Request) -> Response:
    limit = parse_limit(request)
    before = decode_cursor(request.query("cursor"), "whep")
    endpoints, next_seq = app.webhooks.list_endpoints(limit, before)
    items = [endpoint_object(endpoint) for endpoint in endpoints]
    return json_response(200, page_object("endpoints", items, "whep", next_seq))


@router.route("DELETE", "/v1/webhooks/endpoints/{endpoint_id}", group="webhooks_delete")
def delete_webhook_endpoint(app: Sandbox, request: Request) -> Response:
    endpoint_id = request.path_params["endpoint_id"]
    if not endpoint_id.startswith(ENDPOINT_PREFIX) or endpoint_id == ENDPOINT_PREFIX:
        raise invalid_id(
            f"{endpoint_id!r} is not a webhook endpoint id: those start with {ENDPOINT_PREFIX}."
        )
    app.webhooks.delete_endpoint(endpoint_id)
    return Response(204)


def endpoint_object(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "endpointId": endpoint.endpoint_id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "createdAt": endpoint.created_at,
        "signingSecretLast4": endpoint.secret[-4:],
    }


def _parse_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise invalid_parameters("url must be a non-empty string.")
    if len(url) > MAX_URL_CHARS:
        raise invalid_parameters(f"url must be at most {MAX_URL_CHARS} characters long.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise invalid_parameters(f"url {url!r} is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise invalid_parameters(f"url must be an absolute http or https URL, not {url!r}.")
    return url


def _parse_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events:
        raise invalid_parameters("events must be a non-empty list of event names.")
    unknown = [event for event in events if event not in EVENTS]
    if unknown:
        raise invalid_parameters(
            f"events: unknown event(s) {', '.join(map(repr, unknown))}; known: {', '.join(EVENTS)}."
        )
    return list(dict.fromkeys(events))  # a repeated event subscribes once
