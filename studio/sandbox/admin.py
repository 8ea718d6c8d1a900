"""The sandbox's own endpoints, not VideoGen's: faults, reset and counters, for tests.

- ``GET /_admin/faults``: the current settings of faults.py, as JSON.
- ``POST /_admin/faults``: merge the given keys into them; answers the result.
- ``POST /_admin/reset``: forget files, executions, webhook endpoints (and their
  pending deliveries), rate-limit windows and counters; faults go back to the
  values the process started with, and the seeded chance to its start.
- ``GET /_admin/stats``: the counters of stats.py.

They take ``Authorization: Bearer <admin token>`` when the sandbox has one
(``--admin-token``), else the API key. They are never rate limited, slowed
down or failed on purpose.
"""

from __future__ import annotations

from .api import Sandbox, router
from .errors import invalid_parameters
from .web import Request, Response, json_response


@router.route("GET", "/_admin/faults", admin=True)
def get_faults(app: Sandbox, request: Request) -> Response:
    return json_response(200, app.faults.current.to_json())


@router.route("POST", "/_admin/faults", admin=True)
def update_faults(app: Sandbox, request: Request) -> Response:
    changes = request.json()
    if not isinstance(changes, dict):
        raise invalid_parameters("The request body must be a JSON object of fault settings.")
    try:
        faults = app.faults.update(changes)
    except ValueError as exc:
        raise invalid_parameters(str(exc)) from None
    return json_response(200, faults.to_json())


@router.route("POST", "/_admin/reset", admin=True)
def reset(app: Sandbox, request: Request) -> Response:
    app.reset()
    return json_response(200, {"faults": app.faults.current.to_json()})


@router.route("GET", "/_admin/stats", admin=True)
def stats(app: Sandbox, request: Request) -> Response:
    return json_response(200, app.stats.snapshot())
