"""Media bytes: every original, thumbnail and reference goes through here, so
there is one permission check for media."""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from studio.generations.models import Reference, Result

KINDS = {"original", "thumbnail"}


def _member_teams(user):
    return user.memberships.values("team_id")


@require_GET
def result_media(request, pk: int, kind: str):
    if kind not in KINDS:
        raise Http404
    result = get_object_or_404(Result, pk=pk, team_id__in=_member_teams(request.user))
    field = result.image if kind == "original" else result.thumbnail
    if not field:
        raise Http404("Not stored yet")
    content_type = result.content_type if kind == "original" else "image/webp"
    download = request.GET.get("download") == "1"
    extension = field.name.rsplit(".", 1)[-1]
    filename = f"studio-{result.generation_id}-{result.position + 1}.{extension}"
    return _private_file(field, content_type, as_attachment=download, filename=filename)


@require_GET
def reference_media(request, pk: int):
    reference = get_object_or_404(Reference, pk=pk, team_id__in=_member_teams(request.user))
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
    return response
