"""Media bytes: every original, thumbnail and reference goes through here, and
whether a result may be seen is decided in one place (access.py)."""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from studio.generations.models import Reference, Result

from .access import result_visible_to

KINDS = {"original", "thumbnail"}
# Media is shown by the studio's own pages only, and an SVG opened on its own
# must not run scripts: a sandboxing policy on every media response.
MEDIA_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


@require_GET
def result_media(request, pk: int, kind: str):
    if kind not in KINDS:
        raise Http404
    result = get_object_or_404(Result, pk=pk)
    if not result_visible_to(request, result):
        raise Http404
    field = result.image if kind == "original" else result.thumbnail
    if not field:
        raise Http404("Not stored yet")
    content_type = result.content_type if kind == "original" else result.thumbnail_content_type
    extension = field.name.rsplit(".", 1)[-1]
    return _private_file(
        field,
        content_type,
        as_attachment=request.GET.get("download") == "1",
        filename=f"studio-{result.generation_id}-{result.position + 1}.{extension}",
    )


@require_GET
def reference_media(request, pk: int):
    reference = get_object_or_404(
        Reference, pk=pk, team__memberships__user_id=request.user.pk
    )
    return _private_file(reference.image, reference.content_type)


def _private_file(field, content_type, *, as_attachment=False, filename=None):
    response = FileResponse(
        field.open("rb"),
        content_type=content_type,
        as_attachment=as_attachment,
        filename=filename or field.name.rsplit("/", 1)[-1],
    )
    # Content-addressed names never change, but the bytes are private.
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = MEDIA_CSP
    return response
