"""The sandbox's own endpoints, not VideoGen's: faults, reset and counters, for tests.

- ``GET /_admin/faults``: the current settings of faults.py, as JSON.
- ``POST /_admin/faults``: merge the given keys into them; answers the result.
- ``POST /_admin/reset``: forget files, executions, webhook endpoints (and their
  pending deliveries), rate-limit windows and counters; faults go back to the
  values the process started with, and the seeded chance to its start; a manual
  clock starts again at the wall time, with nothing booked.
- ``GET /_admin/stats``: the counters of stats.py.
- ``GET /_admin/clock``: the sandbox's time (``now`` unix, ``monotonic``), whether it is
  manual, and the due times of the callbacks still booked (``pending``).
- ``POST /_admin/clock {"advance": seconds}``: move a manual clock (``--manual-clock``)
  on; answers once everything that fell due, and the work it handed on (webhook
  deliveries, analyses), is done. ``{}`` only waits for that.

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


@router.route("GET", "/_admin/clock", admin=True)
def get_clock(app: Sandbox, request: Request) -> Response:
    return json_response(200, _clock_state(app))


@router.route("POST", "/_admin/clock", admin=True)
def advance_clock(app: Sandbox, request: Request) -> Response:
    body = request.json()
    if not isinstance(body, dict) or set(body) - {"advance"}:
        raise invalid_parameters('The body must be {"advance": seconds}.')
    seconds = body.get("advance", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise invalid_parameters(f"advance must be a number of seconds >= 0, not {seconds!r}.")
    if seconds and not app.clock.manual:
        raise invalid_parameters("This sandbox's clock is the system's: start it --manual-clock.")
    if seconds:
        app.scheduler.advance(float(seconds))
    else:
        app.scheduler.settle()
    return json_response(200, _clock_state(app))


def _clock_state(app: Sandbox) -> dict[str, object]:
    return {
        "manual": app.clock.manual,
        "now": app.clock.time(),
        "monotonic": app.clock.monotonic(),
        "pending": app.scheduler.pending(),
    }
