"""Finding what the team already has: "More like this" in the viewer, and
"Already made" beside the prompt while it is typed (never blocking Generate)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from studio.generations import services as generation_services
from studio.generations.forms import GenerationForm
from studio.generations.models import Generation

from . import selectors, semantic

PAGE = "gallery/finding.html"
SIMILAR_COUNT = 8
ALREADY_MADE_COUNT = 4
# Fewer letters than this are not a prompt yet: nothing is looked up.
MIN_PROMPT = 4


def _result(request, pk: int):
    if request.team is None:
        raise Http404("No such image.")
    return selectors.result_for_team(team=request.team, pk=pk, membership=request.membership)


@require_GET
def result_similar(request, pk: int):
    """The team's images whose descriptions are closest to this one's, best first."""
    result = _result(request, pk)
    context = {"result": result, "similar": [], "note": ""}
    if not result.is_searchable:
        context["note"] = (
            "This is a temporary output: VideoGen does not analyse or search it, "
            "so there is nothing to compare it with."
        )
        return render(request, f"{PAGE}#similar", context)
    # Its description says what it shows; until VideoGen has made one, its prompt.
    hits = semantic.description_hits(team=request.team, query=result.alt_text)
    if not result.description:
        context["note"] = "VideoGen has not described this image yet: matched on its prompt."
    ids = [pk for pk in hits.ids if pk != result.pk]
    context["similar"] = selectors.ranked_results(
        team=request.team, membership=request.membership, ids=ids, limit=SIMILAR_COUNT
    )
    context["note"] = context["note"] or hits.note
    for row in context["similar"]:
        row.similarity_pct = round(hits.similarity.get(row.pk, 0) * 100)
    return render(request, f"{PAGE}#similar", context)


@require_GET
def already_made(request):
    """Up to 4 of the team's images for the prompt being typed: exact (same prompt,
    aspect ratio, watermark and references) first, then close (similar description
    or prompt). An empty answer when nothing fits: the panel disappears."""
    if request.membership is None or not request.membership.can_generate:
        raise PermissionDenied("Viewers do not generate.")
    prompt = request.GET.get("prompt", "")[:4000].strip()
    context = {"exact": [], "close": []}
    if len(prompt) < MIN_PROMPT:
        return render(request, f"{PAGE}#already-made", context)
    aspect_ratio = request.GET.get("aspect_ratio", "16:9")
    watermark_mode = request.GET.get("watermark_mode", "AUTO")
    references = {
        int(v) for v in request.GET.getlist("reference_ids") if v.isdigit() and len(v) < 12
    }
    exact = selectors.exact_matches(
        team=request.team,
        membership=request.membership,
        prompt=prompt,
        aspect_ratio=aspect_ratio,
        watermark_mode=watermark_mode,
        reference_ids=references,
        limit=ALREADY_MADE_COUNT,
    )
    hits = semantic.description_hits(team=request.team, query=prompt)
    taken = {r.pk for r in exact}
    by_prompt = selectors.prompt_match_ids(
        team=request.team, membership=request.membership, text=prompt, limit=ALREADY_MADE_COUNT * 2
    )
    described = set(hits.ids)
    ids = [pk for pk in dict.fromkeys([*hits.ids, *by_prompt]) if pk not in taken]
    close = selectors.ranked_results(
        team=request.team,
        membership=request.membership,
        ids=ids,
        limit=ALREADY_MADE_COUNT - len(exact),
    )
    for row in close:
        row.matched = "description" if row.pk in described else "prompt"
    context.update(exact=exact, close=close, note=hits.note)
    return render(request, f"{PAGE}#already-made", context)


@require_POST
def result_reuse(request, pk: int):
    """"Use this": count one image saved, fill the form with its settings, open it."""
    if request.membership is None or not request.membership.can_generate:
        raise PermissionDenied("Viewers do not generate.")
    result = _result(request, pk)
    generation_services.reuse_record(membership=request.membership, result=result)
    if not request.htmx:
        return redirect("result_detail", pk=result.pk)
    generation: Generation = result.generation
    initial, _ = generation_services.remix_settings(
        generation=generation,
        current={},
        current_references=[],
        no_watermark_allowed=GenerationForm(team=request.team).no_watermark_allowed,
    )
    form = GenerationForm(team=request.team, initial=initial)
    changes = ["Settings of the image you are using; nothing was generated."]
    response = render(
        request,
        "generations/studio.html#generation-form",
        {"form": form, "remix_changes": changes, "remix_from": generation},
    )
    # Beside the new form, a marker studio.js reads after the swap to open the image
    # (an HX-Trigger event would fire on the button the swap removes).
    response.content += f'<i hidden data-open-result="{result.pk}"></i>'.encode()
    return response
