from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import (
    HttpResponseClientRefresh,
    trigger_client_event,
)

from . import downloads, presence, selectors, services
from .budget import QueueView
from .cost import cost_of
from .forms import GenerationForm
from .models import Generation, Tool
from .quota import QuotaExceeded
from .visibility import review_in_progress, review_status_text, team_policy

PAGE = "generations/studio.html"
RESULT_PAGE = "generations/result.html"
TRASH_PAGE = "generations/trash.html"
COST = "generations/cost.html"
# The studio page's poller asks for updates at once on this event (from a response).
POLL_NOW = "studio:poll"


def _require_generate_permission(request) -> None:
    if request.membership is None or not request.membership.can_generate:
        raise PermissionDenied("Viewers can look at the gallery but not generate.")


@require_GET
def studio(request):
    if request.team is not None:
        presence.mark_watching(team_id=request.team.pk, user_id=request.user.pk)
    return render(request, PAGE, _page_context(request, GenerationForm(team=request.team)))


@require_POST
def generation_create(request):
    _require_generate_permission(request)
    form = GenerationForm(request.POST, request.FILES, team=request.team)
    if not form.is_valid():
        form.kept_references = [
            services.reference_get_or_create(team=request.team, upload=f, info=i)
            for f, i in form.valid_uploads()
        ]
        if request.htmx:
            return render(request, f"{PAGE}#generation-form", {"form": form})
        return render(request, PAGE, _page_context(request, form))
    data = form.cleaned_data
    try:
        services.generation_create(
            team=request.team,
            user=request.user,
            prompt=data["prompt"],
            references=data["references"],
            reference_rows=list(data["reference_ids"]),
            aspect_ratio=data["aspect_ratio"],
            num_results=data["num_results"],
            watermark_mode=data["watermark_mode"],
            is_output_temporary=data["is_output_temporary"],
            idempotency_key=data["idempotency_key"],
        )
    except QuotaExceeded as exc:
        # Nothing was saved. Beside "Number of results" while fewer would fit.
        form.add_error("num_results" if exc.left else None, str(exc))
        if request.htmx:
            return render(request, f"{PAGE}#generation-form", {"form": form})
        return render(request, PAGE, _page_context(request, form))
    if not request.htmx:
        return redirect("studio")
    # A fresh form that keeps the settings, so the next try is one edit away,
    # and the page's poller asked at once for the new card (studio:poll).
    # A new key too: the next post is another request, not this one again.
    dropped = ("references", "reference_ids", "idempotency_key")
    kept = {k: v for k, v in data.items() if k not in dropped}
    response = render(request, f"{PAGE}#generation-form", {"form": GenerationForm(initial=kept)})
    return trigger_client_event(response, POLL_NOW)


@require_GET
def generation_cost(request):
    """The form's "Uses N images — …" line, asked again whenever the count changes."""
    _require_generate_permission(request)
    try:
        images = min(max(int(request.GET.get("num_results", "1")), 1), 100)
    except ValueError:
        images = 1
    cost = cost_of(team_id=request.team.pk, user_id=request.user.pk, images=images)
    # Said before Generate: when the key's budget is the bottleneck, when it would start.
    wait = QueueView().for_new_request(request.team.pk, request.user.pk)
    return render(request, COST, {"cost": cost, "wait": wait})


@require_GET
def generation_remix(request, pk: int):
    """The form, filled with a past generation's settings; the references
    already in the form (sent along by hx-include) are kept. Says what changed."""
    generation = selectors.generation_for_team(team=request.team, pk=pk)
    current = GenerationForm(request.GET, team=request.team) if request.GET else None
    initial, changes = services.remix_settings(
        generation=generation,
        current=current.data if current else {},
        current_references=current.chosen_references() if current else [],
        no_watermark_allowed=GenerationForm(team=request.team).no_watermark_allowed,
    )
    form = GenerationForm(team=request.team, initial=initial)
    context = {"form": form, "remix_changes": changes, "remix_from": generation}
    if request.htmx:
        return render(request, f"{PAGE}#generation-form", context)
    return render(request, PAGE, {**_page_context(request, form), **context})


@require_POST
def generation_cancel(request, pk: int):
    _require_generate_permission(request)
    generation = selectors.generation_for_team(team=request.team, pk=pk)
    try:
        cancelled = services.generation_cancel(generation=generation, membership=request.membership)
    except services.NotYours as exc:
        return _forbidden(request, str(exc))
    if not cancelled:
        generation.refresh_from_db()
        status = generation.get_status_display().lower()
        message = f"This generation has already finished ({status}); there is nothing to cancel."
        if request.htmx:
            _with_card_results(request, [generation])
            return render(request, f"{PAGE}#card", {"generation": generation, "notice": message})
        return HttpResponseBadRequest(message)
    if request.htmx:
        _with_card_results(request, [generation])
        return render(request, f"{PAGE}#card", {"generation": generation})
    return redirect("studio")


@require_POST
def generation_resubmit(request, pk: int):
    """A new generation with the same settings; the old one stays in history."""
    _require_generate_permission(request)
    original = selectors.generation_for_team(team=request.team, pk=pk)
    try:
        again = services.generation_resubmit(
            generation=original,
            membership=request.membership,
            # One new generation per failed one, however often the button is pressed.
            idempotency_key=f"resubmit-{original.pk}",
        )
    except services.NotYours as exc:
        return _forbidden(request, str(exc))
    except QuotaExceeded as exc:
        return _refused(request, str(exc))
    if getattr(again, "replayed", False):
        return _refused(request, "This generation was already submitted again.")
    return _started(request, "Submitted again.")


@require_GET
def gallery_updates(request):
    """What changed since the client's cursor.

    204: nothing changed; nothing changed and nothing is in flight: the page's
    poll mode, out of band, set to idle (a slower poll); otherwise out-of-band
    swaps of only the changed cards, and the mode (back) to busy.
    A no-change answer reads only the team row the middleware already loaded
    and one indexed in-flight check.
    """
    try:
        cursor = int(request.GET.get("cursor", ""))
    except ValueError:
        return HttpResponseBadRequest("cursor must be an integer")
    team = request.team
    if team is None:
        raise PermissionDenied
    # Someone is looking: a generation ending now needs no notification (discussion app).
    presence.mark_watching(team_id=team.pk, user_id=request.user.pk)
    # Teams app: with nothing in flight the page keeps a slow "idle" poll, so a
    # teammate's new generation still shows up; a change bumps change_seq, so
    # an idle no-change answer needs no further read.
    idle = request.GET.get("idle") == "1"
    if team.change_seq <= cursor:
        if idle:
            return HttpResponse(status=204)
        if Generation.objects.for_team(team).has_in_flight():
            return HttpResponse(status=204)
        # Review policy: while images await approval, a decision can still change
        # what members see, so their galleries keep asking (two indexed reads).
        if review_in_progress(team=team):
            return HttpResponse(status=204)
        # The quick poll slows down to the idle one (the poller itself stays).
        return render(request, f"{PAGE}#poll-mode", {"idle": True, "oob": True})
    changes = selectors.generations_changed_since(team=team, cursor=cursor)
    if changes is None:
        return HttpResponseClientRefresh()
    changed = changes.cards
    _with_card_results(request, changed)
    return render(
        request,
        f"{PAGE}#updates",
        {
            "new": [g for g in changed if g.created_seq > cursor],
            "updated": [g for g in changed if g.created_seq <= cursor],
            # Every change up to the team's counter as the request began was
            # committed, so the first read saw it.
            "cursor": max(team.change_seq, changes.upto),
        },
    )


@require_GET
def prompt_history(request):
    """The member's last 50 prompts, for the prompt box's list and its ↑ key."""
    prompts = selectors.prompt_history(team=request.team, user=request.user)
    return render(request, f"{PAGE}#prompt-history", {"prompts": prompts})


# --- delete and the Trash ----------------------------------------------------


@require_POST
def generation_delete(request, pk: int):
    generation = selectors.generation_for_team(team=request.team, pk=pk)
    services.generation_delete(
        generation=generation, membership=request.membership, user=request.user
    )
    return _done(request, "Moved to the Trash. It can be restored from there for 30 days.")


@require_POST
def result_delete(request, pk: int):
    result = selectors.result_for_team(team=request.team, pk=pk, membership=request.membership)
    services.result_delete(
        result=result, membership=request.membership, user=request.user
    )
    return _done(request, "Image moved to the Trash. It can be restored from there for 30 days.")


@require_POST
def results_delete(request):
    """The gallery's selection into the Trash: all of it, or nothing if one is not yours."""
    try:
        ids = [int(value) for value in request.POST.getlist("ids")]
    except ValueError:
        return HttpResponseBadRequest("ids must be integers")
    results = selectors.results_for_download(
        team=request.team, ids=ids, membership=request.membership
    )
    services.results_delete(results=results, membership=request.membership, user=request.user)
    n = len(results)
    response = _done(request, f"{n} image{'s' if n != 1 else ''} moved to the Trash.")
    return trigger_client_event(response, "gallery:deleted", {"ids": [r.pk for r in results]})


@require_GET
def trash(request):
    if request.team is None:
        raise PermissionDenied("You are not a member of any team.")
    context = selectors.trash(team=request.team)
    context["days"] = settings.STUDIO_TRASH_DAYS
    return render(request, TRASH_PAGE, context)


@require_GET
def trash_media(request, pk: int):
    """The thumbnail of an image in the Trash, for the team's members only."""
    result = selectors.trashed_thumbnail_for_team(team=request.team, pk=pk)
    response = FileResponse(
        result.thumbnail.open("rb"), content_type=result.thumbnail_content_type
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


@require_POST
def generation_restore(request, pk: int):
    generation = selectors.trashed_generation_for_team(team=request.team, pk=pk)
    services.generation_restore(
        generation=generation, membership=request.membership, user=request.user
    )
    messages.success(request, "Restored: it is back in the studio and the gallery.")
    return redirect("trash")


@require_POST
def result_restore(request, pk: int):
    result = selectors.trashed_result_for_team(team=request.team, pk=pk)
    services.result_restore(
        result=result, membership=request.membership, user=request.user
    )
    messages.success(request, "Image restored: it is back in the studio and the gallery.")
    return redirect("trash")


def _done(request, message: str):
    """After a change every open page learns of through its update poll."""
    if not request.htmx:
        messages.success(request, message)
        return redirect("studio")
    return _poll_now(trigger_client_event(HttpResponse(), "studio:done", {"message": message}))


def _poll_now(response: HttpResponse) -> HttpResponse:
    """The studio page's poller asks at once (other pages have none: no one listens)."""
    return trigger_client_event(response, POLL_NOW)


# --- results ----------------------------------------------------------------


@require_GET
def result_detail(request, pk: int):
    """The lightbox's content (HTMX), or a page of its own."""
    result = selectors.result_for_team(
        team=request.team, pk=pk, membership=request.membership
    )
    sees_review = selectors.sees_review_state(result=result, membership=request.membership)
    context = {
        "result": result,
        "generation": result.generation,
        "tools": [(t.value, t.label) for t in Tool if t != Tool.GENERATE_IMAGE],
        "sees_review": sees_review,
        # The review box (review/decision.html#box) shows it to those who may read it.
        "review_status": (
            review_status_text(result=result, policy=result.policy or team_policy(request.team))
            if sees_review
            else ""
        ),
    }
    if request.htmx:
        return render(request, f"{RESULT_PAGE}#viewer", context)
    return render(request, RESULT_PAGE, context)


@require_POST
def result_derive(request, pk: int, tool: str):
    """Upscale, Remove background, Vectorize: a new result linked to this one."""
    _require_generate_permission(request)
    result = selectors.result_for_team(
        team=request.team, pk=pk, membership=request.membership
    )
    if tool not in Tool.values or tool == Tool.GENERATE_IMAGE:
        return HttpResponseBadRequest("Unknown tool.")
    try:
        services.generation_derive(result=result, tool=tool, user=request.user)
    except ValueError as exc:
        return _refused(request, str(exc))
    return _started(request, f"{Tool(tool).label} started.")


@require_POST
def result_variations(request, pk: int):
    _require_generate_permission(request)
    result = selectors.result_for_team(
        team=request.team, pk=pk, membership=request.membership
    )
    try:
        services.generation_variations(result=result, user=request.user)
    except ValueError as exc:
        return _refused(request, str(exc))
    return _started(request, "Variations started.")


@require_POST
def result_use_as_reference(request, pk: int):
    """Adds the result to the form's references, without losing what is typed there."""
    _require_generate_permission(request)
    result = selectors.result_for_team(
        team=request.team, pk=pk, membership=request.membership
    )
    try:
        reference = services.reference_from_result(result=result)
    except ValueError as exc:
        return _refused(request, str(exc))
    if not request.htmx:
        return redirect("studio")
    response = render(request, f"{PAGE}#reference-chip-oob", {"reference": reference})
    return trigger_client_event(response, "studio:done", {"message": "Added as a reference."})


@require_GET
def results_zip(request):
    """A zip of the chosen results, streamed as it is written, with metadata.json."""
    try:
        ids = [int(value) for value in request.GET.getlist("ids")]
    except ValueError:
        return HttpResponseBadRequest("ids must be integers")
    results = selectors.results_for_download(
        team=request.team, ids=ids, membership=request.membership
    )
    if not results:
        return HttpResponseBadRequest("Choose at least one stored image to download.")
    name = f"studio-{timezone.now():%Y%m%d-%H%M%S}.zip"
    response = StreamingHttpResponse(downloads.zip_stream(results), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _started(request, message: str):
    """After starting work from a button: restart the gallery's polling, say so."""
    if not request.htmx:
        return redirect("studio")
    return _poll_now(trigger_client_event(HttpResponse(), "studio:done", {"message": message}))


def _forbidden(request, message: str):
    """403; htmx does not swap it, but shows the message as a toast (HX-Trigger)."""
    response = HttpResponseForbidden(message)
    if request.htmx:
        trigger_client_event(response, "studio:error", {"message": message})
    return response


def _refused(request, message: str):
    if not request.htmx:
        return HttpResponseBadRequest(message)
    # 200 with no swap: htmx ignores 4xx bodies, and the message is shown as a toast.
    response = HttpResponse(status=200)
    return trigger_client_event(response, "studio:error", {"message": message})


def _page_context(request, form):
    if request.team is None:
        raise PermissionDenied("You are not a member of any team.")
    generations = selectors.gallery_generations(
        team=request.team, limit=settings.STUDIO_GALLERY_PAGE_SIZE
    )
    _with_card_results(request, generations)
    # The team's change_seq was read (by the middleware) before the cards: a
    # change made in between is sent again by the next update, never lost.
    cursor = max([request.team.change_seq, *(g.seq for g in generations)])
    return {"form": form, "generations": generations, "cursor": cursor}


def _with_card_results(request, generations):
    """What each card shows under the review policy, for this person."""
    selectors.with_card_results(generations, team=request.team, membership=request.membership)
