from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import (
    HttpResponseClientRefresh,
    HttpResponseStopPolling,
    trigger_client_event,
)

from . import downloads, presence, selectors, services
from .cost import cost_of
from .forms import GenerationForm
from .models import Generation, Tool
from .quota import QuotaExceeded
from .visibility import review_in_progress, review_status_text, team_policy

PAGE = "generations/studio.html"
RESULT_PAGE = "generations/result.html"
COST = "generations/cost.html"


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
    # and a poller that fetches the new card at once (and restarts polling).
    kept = {k: v for k, v in data.items() if k not in ("references", "reference_ids")}
    return render(request, f"{PAGE}#created", {"form": GenerationForm(initial=kept)})


@require_GET
def generation_cost(request):
    """The form's "Uses N images — …" line, asked again whenever the count changes."""
    _require_generate_permission(request)
    try:
        images = min(max(int(request.GET.get("num_results", "1")), 1), 100)
    except ValueError:
        images = 1
    cost = cost_of(team_id=request.team.pk, user_id=request.user.pk, images=images)
    return render(request, COST, {"cost": cost})


@require_GET
def generation_remix(request, pk: int):
    """The form, filled with a past generation's settings and references."""
    generation = selectors.generation_for_team(team=request.team, pk=pk)
    form = GenerationForm(
        team=request.team,
        initial={
            "prompt": generation.prompt,
            "aspect_ratio": generation.aspect_ratio,
            "num_results": generation.num_results,
            "watermark_mode": generation.watermark_mode,
            "is_output_temporary": generation.is_output_temporary,
            "reference_ids": list(generation.references.all()),
        },
    )
    if request.htmx:
        return render(request, f"{PAGE}#generation-form", {"form": form})
    return render(request, PAGE, _page_context(request, form))


@require_POST
def generation_cancel(request, pk: int):
    _require_generate_permission(request)
    generation = selectors.generation_for_team(team=request.team, pk=pk)
    if not services.generation_cancel(generation=generation):
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
        services.generation_resubmit(generation=original, user=request.user)
    except QuotaExceeded as exc:
        return _refused(request, str(exc))
    return _started(request, "Submitted again.")


@require_GET
def gallery_updates(request):
    """What changed since the client's cursor.

    204: nothing changed; 286: nothing changed and nothing is in flight (htmx
    stops the quick poll and a slower idle one takes over, out of band);
    otherwise out-of-band swaps of only the changed cards.
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
        # Stop the quick poll; its out-of-band replacement is the idle one.
        idle_poller = {"idle": True, "oob": True}
        return HttpResponseStopPolling(render_to_string(f"{PAGE}#poller", idle_poller, request))
    changed = selectors.generations_changed_since(team=team, cursor=cursor)
    if changed is None:
        return HttpResponseClientRefresh()
    _with_card_results(request, changed)
    return render(
        request,
        f"{PAGE}#updates",
        {
            "new": [g for g in changed if g.created_seq > cursor],
            "updated": [g for g in changed if g.created_seq <= cursor],
            "cursor": max([team.change_seq, *(g.seq for g in changed)]),
            "idle": idle,
        },
    )


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
            review_status_text(result=result, policy=team_policy(request.team))
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
    response = render(request, f"{PAGE}#poller", {"start_now": True, "oob": True})
    return trigger_client_event(response, "studio:done", {"message": message})


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
