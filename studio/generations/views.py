from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh, HttpResponseStopPolling

from . import selectors, services
from .forms import GenerationForm
from .models import Generation

PAGE = "generations/studio.html"


def _require_generate_permission(request) -> None:
    if request.membership is None or not request.membership.can_generate:
        raise PermissionDenied("Viewers can look at the gallery but not generate.")


@require_GET
def studio(request):
    return render(request, PAGE, _page_context(request, GenerationForm()))


@require_POST
def generation_create(request):
    _require_generate_permission(request)
    form = GenerationForm(request.POST, request.FILES)
    if not form.is_valid():
        if request.htmx:
            return render(request, f"{PAGE}#generation-form", {"form": form})
        return render(request, PAGE, _page_context(request, form))
    data = form.cleaned_data
    services.generation_create(
        team=request.team,
        user=request.user,
        prompt=data["prompt"],
        references=data["references"],
        aspect_ratio=data["aspect_ratio"],
        num_results=data["num_results"],
        watermark_mode=data["watermark_mode"],
        is_output_temporary=data["is_output_temporary"],
    )
    if not request.htmx:
        return redirect("studio")
    # A fresh form that keeps the settings, so the next try is one edit away,
    # and a poller that fetches the new card at once (and restarts polling).
    next_form = GenerationForm(initial={k: v for k, v in data.items() if k != "references"})
    return render(request, f"{PAGE}#created", {"form": next_form})


@require_POST
def generation_cancel(request, pk: int):
    _require_generate_permission(request)
    generation = selectors.generation_for_team(team=request.team, pk=pk)
    if not services.generation_cancel(generation=generation):
        generation.refresh_from_db()
        status = generation.get_status_display().lower()
        message = f"This generation has already finished ({status}); there is nothing to cancel."
        if request.htmx:
            return render(request, f"{PAGE}#card", {"generation": generation, "notice": message})
        return HttpResponseBadRequest(message)
    return _card_or_redirect(request, generation)


@require_POST
def generation_resubmit(request, pk: int):
    """A new generation with the same settings; the old one stays in history."""
    _require_generate_permission(request)
    original = selectors.generation_for_team(team=request.team, pk=pk)
    services.generation_resubmit(generation=original, user=request.user)
    if not request.htmx:
        return redirect("studio")
    return render(request, f"{PAGE}#poller", {"start_now": True, "oob": True})


@require_http_methods(["GET"])
def gallery_updates(request):
    """What changed since the client's cursor.

    204: nothing changed; 286: nothing changed and nothing is in flight (htmx
    stops polling); otherwise out-of-band swaps of only the changed cards.
    A no-change answer reads only the team row the middleware already loaded.
    """
    try:
        cursor = int(request.GET.get("cursor", ""))
    except ValueError:
        return HttpResponseBadRequest("cursor must be an integer")
    team = request.team
    if team is None:
        raise PermissionDenied
    if team.change_seq <= cursor:
        if Generation.objects.for_team(team).in_flight().exists():
            return HttpResponse(status=204)
        return HttpResponseStopPolling()
    changed = selectors.generations_changed_since(team=team, cursor=cursor)
    if changed is None:
        return HttpResponseClientRefresh()
    return render(
        request,
        f"{PAGE}#updates",
        {
            "new": [g for g in changed if g.created_seq > cursor],
            "updated": [g for g in changed if g.created_seq <= cursor],
            "cursor": max([team.change_seq, *(g.seq for g in changed)]),
        },
    )


def _card_or_redirect(request, generation):
    if request.htmx:
        return render(request, f"{PAGE}#card", {"generation": generation})
    return redirect("studio")


def _page_context(request, form):
    if request.team is None:
        raise PermissionDenied("You are not a member of any team.")
    generations = selectors.gallery_generations(
        team=request.team, limit=settings.STUDIO_GALLERY_PAGE_SIZE
    )
    # The team's change_seq was read (by the middleware) before the cards: a
    # change made in between is sent again by the next update, never lost.
    cursor = max([request.team.change_seq, *(g.seq for g in generations)])
    return {"form": form, "generations": generations, "cursor": cursor}
