from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services

MAX_BODY_BYTES = 1024 * 1024


@csrf_exempt  # signed by VideoGen instead (Standard Webhooks)
@login_not_required
@require_POST
def receive(request):
    """Answer fast: verify, record once, enqueue. The work happens in a worker."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return HttpResponseBadRequest("Invalid Content-Length.")
    if length > MAX_BODY_BYTES:
        return HttpResponse("Payload too large.", status=413)
    body = request.body
    try:
        payload = services.delivery_verify(body=body, headers=dict(request.headers))
    except services.InvalidDelivery:
        return HttpResponseBadRequest("Invalid or expired signature.")
    delivered = services.delivery_record(
        webhook_id=request.headers["webhook-id"], payload=payload
    )
    return HttpResponse(status=204 if delivered else 200)
