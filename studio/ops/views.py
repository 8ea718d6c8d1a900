from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest
from django.db import connection
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from studio.celery import app as celery_app

from . import metrics as ops_metrics


@require_GET
@never_cache
@login_not_required
def healthz(request):
    """200 when the database and the broker answer, 503 otherwise (for load balancers)."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any failure is "down"; the reason helps the operator
        return f"error: {type(exc).__name__}"


def _check_broker() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.STUDIO_HEALTH_TIMEOUT)
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def bad_request(request, exception):
    """400 as a page that says what was wrong: Studio's own BadRequest messages are
    written for people; anything else (Django's SuspiciousOperation) stays generic."""
    message = str(exception) if type(exception) is BadRequest else ""
    return render(request, "400.html", {"message": message}, status=400)


@require_GET
@never_cache
@login_not_required
def metrics(request):
    """Prometheus metrics, for a bearer token or an allowed address only (README)."""
    if not ops_metrics.allowed(request):
        return HttpResponseForbidden("Metrics need STUDIO_METRICS_TOKEN or an allowed address.")
    from prometheus_client import CONTENT_TYPE_LATEST

    return HttpResponse(ops_metrics.render(), content_type=CONTENT_TYPE_LATEST)
