"""What people do with generations: create and cancel; what staff do to them
in the admin (cancel, re-ingest, each recorded in the audit log); and the one
door for VideoGen's news of an execution (execution_update). The worker's
steps live in pipeline.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from studio.audit.models import AuditEntry
from studio.audit.services import record as audit_record
from studio.teams.models import Team
from studio.videogen.types import Execution

from . import pipeline
from .images import EXTENSIONS, ImageInfo
from .models import Generation, Reference, Result, Status, Tool
from .quota import reserve_images

Action = AuditEntry.Action
Via = AuditEntry.Via


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
    """A new generate-image request: stored as queued, submitted by a worker."""
    with transaction.atomic():
        # Quota first, so a refused request stores no reference image (_queue checks again).
        reserve_images(team_id=team.pk, images=num_results)
        rows = [*reference_rows]
        rows += [reference_get_or_create(team=team, upload=f, info=i) for f, i in references]
        return _queue(
            Generation(
                team=team,
                created_by=user,
                prompt=prompt,
                aspect_ratio=aspect_ratio,
                num_results=num_results,
                watermark_mode=watermark_mode,
                is_output_temporary=is_output_temporary,
            ),
            references=rows,
        )


def _queue(generation: Generation, *, references: list[Reference] = ()) -> Generation:
    """Save a new generation as a visible change and submit it once committed."""
    from .tasks import submit_generation

    # The monthly quota (quota.py): raises QuotaExceeded, a ValueError, when
    # these images do not fit; the saved row is the reservation.
    reserve_images(team_id=generation.team_id, images=generation.num_results)
    generation.save()
    if references:
        generation.references.set(references)
    seq = Team(pk=generation.team_id).next_change_seq()
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


def reference_from_result(*, result: Result) -> Reference:
    """A team result used as a reference: VideoGen already has the file, so
    nothing is uploaded; the bytes are copied so the reference outlives it."""
    if result.is_vector:
        raise ValueError("A vector (SVG) result cannot be used as a reference image.")
    existing = Reference.objects.filter(team_id=result.team_id, sha256=result.sha256).first()
    if existing is not None:
        return existing
    reference = Reference(
        team_id=result.team_id,
        sha256=result.sha256,
        content_type=result.content_type,
        width=result.width,
        height=result.height,
        bytes=result.bytes,
        remote_file_id=result.remote_file_id,
        # VideoGen made the file with the result: a temporary one may be archived a
        # day after that, and the pipeline uploads Studio's copy then (REFERENCE_LIFETIME).
        uploaded_at=result.created_at,
    )
    with result.image.open("rb") as data:
        reference.image.save(
            f"{result.sha256[:16]}.{EXTENSIONS[result.content_type]}", File(data), save=False
        )
    try:
        with transaction.atomic():
            reference.save()
    except IntegrityError:
        reference.image.delete(save=False)
        return Reference.objects.get(team_id=result.team_id, sha256=result.sha256)
    return reference


def generation_variations(*, result: Result, user) -> Generation:
    """Generate again from a result: same prompt and settings, the result as reference."""
    source = result.generation
    return generation_create(
        team=source.team,
        user=user,
        prompt=source.prompt,
        reference_rows=[reference_from_result(result=result)],
        aspect_ratio=source.aspect_ratio,
        num_results=source.num_results,
        watermark_mode=source.watermark_mode,
        is_output_temporary=source.is_output_temporary,
    )


@transaction.atomic
def generation_derive(*, result: Result, tool: str, user) -> Generation:
    """Upscale, remove the background of, or vectorize one result."""
    if tool == Tool.GENERATE_IMAGE or tool not in Tool.values:
        raise ValueError(f"{tool!r} is not a tool that works on a result.")
    if not result.is_stored:
        raise ValueError("This result has not been stored yet.")
    if result.is_vector:
        raise ValueError("A vector (SVG) result cannot be edited with image tools.")
    source = result.generation
    return _queue(
        Generation(
            team_id=result.team_id,
            created_by=user,
            tool=tool,
            source_result=result,
            prompt=source.prompt,
            aspect_ratio=source.aspect_ratio,
            num_results=1,
            watermark_mode=source.watermark_mode,
            is_output_temporary=source.is_output_temporary,
        )
    )


# --- admin actions on generations --------------------------------------------------


def generations_cancel(*, generations: Iterable[Generation], actor, via: str = Via.ADMIN) -> int:
    """Cancel in-flight generations (and their remote executions); returns how many."""
    cancelled = 0
    for generation in generations:
        with transaction.atomic():
            before = generation.status
            if not generation_cancel(generation=generation):
                continue
            audit_record(
                team=generation.team_id,
                actor=actor,
                action=Action.CANCEL,
                target=generation,
                before={"status": before},
                after={"status": generation.status},
                via=via,
            )
            cancelled += 1
    return cancelled


def generations_reingest(*, generations: Iterable[Generation], actor, via: str = Via.ADMIN) -> int:
    """Fetch a succeeded generation's files again: missing ones are downloaded anew.

    Results whose original or thumbnail is gone from storage are cleared, so
    the (idempotent) ingest step stores them again; files still present are
    kept. Returns how many generations were sent to ingest.
    """
    from .tasks import ingest_results

    sent = 0
    for generation in generations:
        if generation.status != Status.SUCCEEDED:
            continue
        with transaction.atomic():
            missing = []
            for result in generation.results.all():
                if not (result.image and default_storage.exists(result.image.name)):
                    Result.objects.filter(pk=result.pk).update(image="", thumbnail="", sha256="")
                    missing.append(result.position + 1)
                elif not (result.thumbnail and default_storage.exists(result.thumbnail.name)):
                    Result.objects.filter(pk=result.pk).update(thumbnail="")
                    missing.append(result.position + 1)
            was_ingested = generation.ingested_at is not None
            generation.touch(ingested_at=None)
            audit_record(
                team=generation.team_id,
                actor=actor,
                action=Action.REINGEST,
                target=generation,
                before={"ingested": was_ingested},
                after={"ingested": False, "missing_images": missing},
                via=via,
            )
            transaction.on_commit(lambda pk=generation.pk: ingest_results.delay(pk))
        sent += 1
    return sent


# --- VideoGen's news of an execution ----------------------------------------------


def execution_update(*, execution_id: str, wire: Mapping) -> bool:
    """Apply what VideoGen says of an execution (a webhook's payload, in the
    API's wire form) to its generation. False when no generation has that id."""
    generation = (
        Generation.objects.select_related("team").filter(remote_execution_id=execution_id).first()
    )
    if generation is None:
        return False
    pipeline.apply_execution(generation, Execution.from_wire(wire))
    return True


def execution_push_register(check) -> None:
    """`check()` says whether VideoGen pushes execution events to us (webhooks):
    then polling is only a slow fallback. Called by the webhooks app at start-up."""
    if check not in pipeline._push_checks:
        pipeline._push_checks.append(check)
