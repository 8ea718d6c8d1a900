"""What people do with generations: create and cancel; what staff do to them
in the admin (cancel, re-ingest, each recorded in the audit log); and the one
door for VideoGen's news of an execution (execution_update). The worker's
steps live in pipeline.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.audit.models import AuditEntry
from studio.audit.services import record as audit_record
from studio.teams.models import Team
from studio.videogen.types import Execution

from . import dispatch, pipeline
from .images import EXTENSIONS, ImageInfo
from .models import Generation, Reference, Result, Reuse, Status, Tool
from .quota import lock_team_spending, reserve_images

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
    idempotency_key: str | None = None,
    source_result: Result | None = None,
) -> Generation:
    """A new generate-image request: stored as queued, submitted by a worker.

    `source_result`: the image these are variations of (they stack under it).

    With an `idempotency_key` (the form's), a second call with the same key
    (a double click, a replayed post) returns the first call's generation and
    spends nothing: the key is looked up under the team's spending lock, and
    the database refuses a second row with it anyway.
    """
    try:
        with transaction.atomic():
            lock_team_spending(team.pk)
            if idempotency_key:
                existing = Generation.objects.filter(
                    team=team, idempotency_key=idempotency_key
                ).first()
                if existing is not None:
                    existing.replayed = True  # for the view: nothing new was made
                    return existing
            # Quota first, so a refused request stores no reference image (_queue checks again).
            reserve_images(team_id=team.pk, user_id=user.pk, images=num_results)
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
                    idempotency_key=idempotency_key or "",
                    source_result=source_result,
                    stack_root_id=_stack_root_id(source_result),
                ),
                references=rows,
            )
    except IntegrityError:
        if not idempotency_key:
            raise
        # Only if a writer got past the lock (it cannot on either database): theirs stands.
        existing = Generation.objects.get(team=team, idempotency_key=idempotency_key)
        existing.replayed = True
        return existing


def _queue(generation: Generation, *, references: list[Reference] = ()) -> Generation:
    """Save a new generation as a visible change; the dispatcher submits it when
    the key's budget has a call for it, in its fair turn."""

    # The monthly quota and the member's limit (quota.py): raises QuotaExceeded,
    # a ValueError, when these images do not fit; the saved row is the reservation.
    reserve_images(
        team_id=generation.team_id, user_id=generation.created_by_id,
        images=generation.num_results,
    )
    generation.save()
    if references:
        generation.references.set(references)
    seq = Team(pk=generation.team_id).next_change_seq()
    Generation.objects.filter(pk=generation.pk).update(created_seq=seq, seq=seq)
    generation.created_seq = generation.seq = seq
    dispatch.nudge()
    return generation


class NotYours(PermissionDenied):
    """Someone else's generation, and the person is not an admin or owner."""


def _require_manager(generation: Generation, membership, doing: str) -> None:
    if not generation.may_be_managed_by(membership):
        raise NotYours(f"Only whoever made this generation, or an admin, can {doing} it.")


def generation_cancel(*, generation: Generation, membership) -> bool:
    """Cancel locally at once; cancel the remote execution too if there is one.

    Returns False when the generation had already finished (nothing changes).
    Raises NotYours for someone else's generation, unless an admin asks.
    """
    _require_manager(generation, membership, "cancel")
    return _cancel(generation)


def _cancel(generation: Generation) -> bool:
    from .tasks import cancel_execution

    with transaction.atomic():
        if not generation.move(Status.CANCELLED):
            return False
        if generation.remote_execution_id:
            transaction.on_commit(lambda: cancel_execution.delay(generation.pk))
        # A waiting one leaves the queue at once (everyone behind moves up); a
        # call already taken for it goes back when its submit finds it cancelled.
    return True


def generation_resubmit(
    *, generation: Generation, membership, idempotency_key: str | None = None
) -> Generation:
    """Start a new generation with another one's settings (Retry, Submit again).

    The creator's or an admin's to do; the new one is the resubmitter's own.
    """
    _require_manager(generation, membership, "resubmit")
    return generation_create(
        idempotency_key=idempotency_key,
        team=generation.team,
        user=membership.user,
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
        source_result=result,
    )


def _stack_root_id(source_result: Result | None) -> int | None:
    if source_result is None:
        return None
    source = source_result.generation
    return source.stack_root_id or source.pk


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
            stack_root_id=_stack_root_id(result),
            prompt=source.prompt,
            aspect_ratio=source.aspect_ratio,
            num_results=1,
            watermark_mode=source.watermark_mode,
            is_output_temporary=source.is_output_temporary,
        )
    )


def remix_settings(
    *, generation: Generation, current, current_references, no_watermark_allowed: bool
) -> tuple[dict, list[str]]:
    """A past generation's settings merged into the form: its prompt and
    settings, the form's references plus its own (at most 4), and what changed,
    in words."""
    references = list(current_references)
    references += [r for r in generation.references.all() if r not in references]
    initial = {
        "prompt": generation.prompt,
        "aspect_ratio": generation.aspect_ratio,
        "num_results": generation.num_results,
        "watermark_mode": generation.watermark_mode,
        "is_output_temporary": generation.is_output_temporary,
        "reference_ids": references[:4],
    }
    changes = []
    if initial["watermark_mode"] == "NONE" and not no_watermark_allowed:
        initial["watermark_mode"] = "AUTO"
        changes.append("Watermark: automatic (this account lacks the Production add-on).")
    labels = dict(Generation.WatermarkMode.choices)
    shown = {
        "prompt": ("Prompt", lambda v: f"“{v[:60]}”"),
        "aspect_ratio": ("Aspect ratio", str),
        "num_results": ("Number of results", str),
        "watermark_mode": ("Watermark", lambda v: labels.get(v, v)),
    }
    for name, (label, say) in shown.items():
        before = current.get(name) if current else None
        if before is not None and str(before).strip() != str(initial[name]):
            changes.append(f"{label}: {say(str(initial[name]))}")
    temporary = current.get("is_output_temporary") == "on" if current else None
    if current and temporary != initial["is_output_temporary"]:
        changes.append(f"Temporary output: {'on' if initial['is_output_temporary'] else 'off'}")
    kept = len(current_references)
    if kept:
        changes.append(f"Kept the {kept} reference{'s' if kept > 1 else ''} already chosen.")
    if len(references) > 4:
        changes.append(f"Only 4 references fit: {len(references) - 4} left out.")
    return initial, changes


def reuse_record(*, membership, result: Result) -> Reuse:
    """A member took this existing image ("Use this") instead of generating it again:
    counted on the usage page as one image saved."""
    if membership is None or membership.team_id != result.team_id:
        raise PermissionDenied("Not an image of your team.")
    return Reuse.objects.create(team_id=result.team_id, user_id=membership.user_id, result=result)


def reuses_in(*, team, start, end) -> int:
    return Reuse.objects.filter(team=team, created_at__gte=start, created_at__lt=end).count()


# --- Trash -------------------------------------------------------------------


def may_delete(*, generation: Generation, membership) -> bool:
    """Delete and restore follow the ownership rule of cancel and resubmit."""
    return generation.may_be_managed_by(membership)


def _require_may_delete(generation: Generation, membership) -> None:
    if not may_delete(generation=generation, membership=membership):
        raise PermissionDenied("Only the person who made it, or an admin, can delete it.")


def _show_change(generation: Generation) -> None:
    """A visible change for every open page of the team: the card, and the
    card an edit stacks under."""
    generation.touch()
    if generation.stack_root_id:
        Generation(pk=generation.stack_root_id, team_id=generation.team_id).touch()


@transaction.atomic
def generation_delete(*, generation: Generation, membership, user) -> None:
    """Into the Trash: gone from every view at once, restorable for STUDIO_TRASH_DAYS."""
    _require_may_delete(generation, membership)
    if generation.deleted_at is not None:
        return
    generation.deleted_at = timezone.now()
    Generation.objects.filter(pk=generation.pk).update(
        deleted_at=generation.deleted_at, deleted_by=user
    )
    _show_change(generation)
    _audit(generation.team_id, user, "generation.delete", generation,
           {"deleted": False}, {"deleted": True})


@transaction.atomic
def generation_restore(*, generation: Generation, membership, user) -> None:
    _require_may_delete(generation, membership)
    if generation.deleted_at is None:
        return
    Generation.objects.filter(pk=generation.pk).update(deleted_at=None, deleted_by=None)
    _show_change(generation)
    _audit(generation.team_id, user, "generation.restore", generation,
           {"deleted": True}, {"deleted": False})


@transaction.atomic
def result_delete(*, result: Result, membership, user) -> None:
    """One image into the Trash; its generation's card re-renders without it."""
    _require_may_delete(result.generation, membership)
    if result.deleted_at is not None:
        return
    Result.all_objects.filter(pk=result.pk).update(
        deleted_at=timezone.now(), deleted_by=user
    )
    _show_change(result.generation)
    _audit(result.team_id, user, "result.delete", result, {"deleted": False}, {"deleted": True})


@transaction.atomic
def results_delete(*, results: list[Result], membership, user) -> None:
    """Several images into the Trash at once; refused whole if one may not be deleted."""
    for result in results:
        _require_may_delete(result.generation, membership)
    for result in results:
        result_delete(result=result, membership=membership, user=user)


@transaction.atomic
def result_restore(*, result: Result, membership, user) -> None:
    _require_may_delete(result.generation, membership)
    if result.deleted_at is None:
        return
    Result.all_objects.filter(pk=result.pk).update(deleted_at=None, deleted_by=None)
    _show_change(result.generation)
    _audit(result.team_id, user, "result.restore", result, {"deleted": True}, {"deleted": False})


def trash_purge(*, now=None) -> int:
    """Delete for good what has been in the Trash longer than STUDIO_TRASH_DAYS,
    files included. Returns how many images went. Safe to run twice."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.STUDIO_TRASH_DAYS)
    purged = 0
    for generation in Generation.objects.filter(deleted_at__lt=cutoff).iterator():
        with transaction.atomic():
            results = list(Result.all_objects.filter(generation=generation))
            _audit(generation.team_id, None, "generation.purge", generation,
                   {"deleted": True}, {"purged": True, "images": len(results)})
            files = [f for r in results for f in (r.image, r.thumbnail) if f]
            Result.all_objects.filter(generation=generation).delete()
            generation.delete()
            transaction.on_commit(lambda files=files: _delete_files(files))
        purged += len(results)
    for result in Result.all_objects.filter(deleted_at__lt=cutoff).iterator():
        with transaction.atomic():
            _audit(result.team_id, None, "result.purge", result,
                   {"deleted": True}, {"purged": True})
            files = [f for f in (result.image, result.thumbnail) if f]
            result.delete()
            transaction.on_commit(lambda files=files: _delete_files(files))
        purged += 1
    return purged


def _delete_files(files) -> None:
    for field in files:
        field.storage.delete(field.name)


def _audit(team_id, actor, action, target, before, after) -> None:
    audit_record(team_id=team_id, actor=actor, action=action, target=target,
                 before=before, after=after)
# --- admin actions on generations --------------------------------------------------


def generations_cancel(*, generations: Iterable[Generation], actor, via: str = Via.ADMIN) -> int:
    """Cancel in-flight generations (and their remote executions); returns how many."""
    cancelled = 0
    for generation in generations:
        with transaction.atomic():
            before = generation.status
            if not _cancel(generation):  # staff, in the Django admin
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
    pipeline.apply_pushed(generation, Execution.from_wire(wire))
    return True


def execution_push_register(check) -> None:
    """`check()` says whether VideoGen pushes execution events to us (webhooks):
    then polling is only a slow fallback. Called by the webhooks app at start-up."""
    if check not in pipeline._push_checks:
        pipeline._push_checks.append(check)
