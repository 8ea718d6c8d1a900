"""What people do with generations: create and cancel. The worker's steps
live in pipeline.py."""

from __future__ import annotations

from django.core.files.base import File
from django.db import IntegrityError, transaction

from studio.teams.models import Team

from .images import ImageInfo
from .models import Generation, Reference, Status

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def reference_get_or_create(*, team: Team, upload: File, info: ImageInfo) -> Reference:
    """One Reference per team and content, however many generations use it."""
    existing = Reference.objects.filter(team=team, sha256=info.sha256).first()
    if existing is not None:
        return existing
    reference = Reference(
        team=team,
        sha256=info.sha256,
        content_type=info.content_type,
        width=info.width,
        height=info.height,
        bytes=info.bytes,
    )
    reference.image.save(f"{info.sha256[:16]}.{EXTENSIONS[info.content_type]}", upload, save=False)
    try:
        with transaction.atomic():
            reference.save()
    except IntegrityError:  # the same image, added at the same moment by someone else
        reference.image.delete(save=False)
        return Reference.objects.get(team=team, sha256=info.sha256)
    return reference


@transaction.atomic
def generation_create(
    *,
    team: Team,
    user,
    prompt: str,
    references: list[tuple[File, ImageInfo]] = (),
    reference_rows: list[Reference] = (),
    aspect_ratio: str = "16:9",
    num_results: int = 1,
    watermark_mode: str = "AUTO",
    is_output_temporary: bool = False,
) -> Generation:
    from .tasks import submit_generation

    generation = Generation.objects.create(
        team=team,
        created_by=user,
        prompt=prompt,
        aspect_ratio=aspect_ratio,
        num_results=num_results,
        watermark_mode=watermark_mode,
        is_output_temporary=is_output_temporary,
    )
    rows = [*reference_rows]
    rows += [reference_get_or_create(team=team, upload=f, info=i) for f, i in references]
    if rows:
        generation.references.set(rows)
    seq = team.next_change_seq()
    Generation.objects.filter(pk=generation.pk).update(created_seq=seq, seq=seq)
    generation.created_seq = generation.seq = seq
    transaction.on_commit(lambda: submit_generation.delay(generation.pk))
    return generation


def generation_cancel(*, generation: Generation) -> bool:
    """Cancel locally at once; cancel the remote execution too if there is one.

    Returns False when the generation had already finished (nothing changes).
    """
    from .tasks import cancel_execution

    with transaction.atomic():
        if not generation.move(Status.CANCELLED):
            return False
        if generation.remote_execution_id:
            transaction.on_commit(lambda: cancel_execution.delay(generation.pk))
    return True


def generation_resubmit(*, generation: Generation, user) -> Generation:
    """Start a new generation with another one's settings (Retry, Submit again)."""
    return generation_create(
        team=generation.team,
        user=user,
        prompt=generation.prompt,
        reference_rows=list(generation.references.all()),
        aspect_ratio=generation.aspect_ratio,
        num_results=generation.num_results,
        watermark_mode=generation.watermark_mode,
        is_output_temporary=generation.is_output_temporary,
    )
