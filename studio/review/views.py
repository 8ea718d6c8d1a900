import csv

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from studio.generations.quota import Month, images_used
from studio.generations.selectors import result_for_team
from studio.generations.visibility import is_reviewer, review_status_text, team_policy

from . import selectors, services
from .charts import day_chart, hourly_chart, member_chart
from .forms import AuditFilterForm, DecisionForm, PolicyForm

QUEUE = "review/queue.html"
AUDIT = "review/audit.html"
USAGE = "review/usage.html"
BUDGET = "review/budget.html"
SETTINGS = "review/settings.html"
DECISION = "review/decision.html"
AUDIT_PAGE_SIZE = 50


def _require_reviewer(request) -> None:
    """Review pages are for the team's admins and owners."""
    if not is_reviewer(request.membership):
        raise PermissionDenied("Only the team's admins and owners can do this.")


@require_GET
def queue(request):
    _require_reviewer(request)
    return render(request, QUEUE, _queue_context(request, DecisionForm()))


@require_POST
def decide(request):
    """Approve or reject one image or a selection, from the queue."""
    _require_reviewer(request)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        template = f"{QUEUE}#queue" if request.htmx else QUEUE
        return render(request, template, _queue_context(request, form))
    results = selectors.results_to_decide(team=request.team, ids=form.cleaned_data["ids"])
    changed = services.review_decide(
        team=request.team,
        actor=request.user,
        results=results,
        approve=form.approve,
        reason=form.cleaned_data["reason"],
    )
    if not request.htmx:
        return redirect("review_queue")
    response = render(request, f"{QUEUE}#queue", _queue_context(request, DecisionForm()))
    verb = "Approved" if form.approve else "Rejected"
    message = f"{verb} {changed} image{'s' if changed != 1 else ''}." if changed else "No change."
    return trigger_client_event(response, "studio:done", {"message": message})


@require_POST
def result_decide(request, pk: int):
    """Approve or reject the image open in the viewer."""
    _require_reviewer(request)
    result = result_for_team(team=request.team, pk=pk, membership=request.membership)
    form = DecisionForm({**request.POST.dict(), "ids": [result.pk]})
    if form.is_valid():
        services.review_decide(
            team=request.team,
            actor=request.user,
            results=[result],
            approve=form.approve,
            reason=form.cleaned_data["reason"],
        )
        result.refresh_from_db()
    if not request.htmx:
        return redirect("result_detail", pk=result.pk)
    status = review_status_text(result=result, policy=team_policy(request.team))
    context = {"result": result, "form": form, "review_status": status}
    return render(request, f"{DECISION}#box", context)


@require_GET
def audit_log(request):
    _require_reviewer(request)
    form = AuditFilterForm(request.GET, people=selectors.audit_people(team=request.team))
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.audit_entries(
        team=request.team, actor_id=filters.get("person"), action=filters.get("action", "")
    )
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        # Images of this page still stored (not in the Trash or purged): a thumbnail each.
        "thumbnails": selectors.audit_thumbnails(team=request.team, entries=page.object_list),
    }
    return render(request, AUDIT, context)


@require_GET
def usage(request):
    _require_reviewer(request)
    month = Month.parse(request.GET.get("month", "")) or Month.current()
    report = selectors.usage_for_month(team=request.team, month=month)
    context = {
        "usage": report,
        "by_month": selectors.usage_by_month(team=request.team, last=month),
        "price": settings.STUDIO_PRICE_PER_IMAGE,
        "currency": settings.STUDIO_CURRENCY,
        "member_chart": member_chart(report),
        "day_chart": day_chart(report),
        "is_current": month == Month.current(),
    }
    return render(request, USAGE, context)


@require_GET
def api_budget(request):
    """The key's hourly budget: each group's use and reset, the last day, who used it.
    The key serves every team: staff see every team by name, a team's admins theirs."""
    if not (request.user.is_staff or is_reviewer(request.membership)):
        raise PermissionDenied("Only the team's admins and owners can see the API budget.")
    team_id = None if request.user.is_staff else request.team.pk
    context = selectors.api_budget(team_id=team_id)
    tools = next((g for g in context["groups"] if g.group == "tools"), None)
    per_hour = round(tools.limit * 3600 / tools.seconds) if tools else None
    context["chart"] = hourly_chart(context["tools_hours"], group="tools",
                                    limit_per_hour=per_hour)
    context["all_teams"] = team_id is None
    return render(request, BUDGET, context)


@require_GET
def usage_csv(request):
    """Per member and month, the last 12 months up to `month`: images and spend."""
    _require_reviewer(request)
    month = Month.parse(request.GET.get("month", "")) or Month.current()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="usage-{month}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "month",
            "member",
            "generations",
            "images requested",
            "images counted",
            "images delivered",
            "spend",
            "currency",
        ]
    )
    for row_month, row in selectors.usage_csv_rows(team=request.team, last=month):
        money = row.spend
        writer.writerow(
            [
                str(row_month),
                _csv_safe(row.label),
                row.generations,
                row.images_requested,
                row.images_billed,
                row.images_delivered,
                "" if money is None else f"{money:.2f}",
                settings.STUDIO_CURRENCY if money is not None else "",
            ]
        )
    return response


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@require_http_methods(["GET", "POST"])
def review_settings(request):
    _require_reviewer(request)
    policy = team_policy(request.team)
    if request.method == "GET":
        form = PolicyForm(initial={"require_approval": policy.require_approval})
        return render(request, SETTINGS, _settings_context(request, form, policy))
    form = PolicyForm(request.POST)
    if form.is_valid():
        policy = services.policy_update(
            team=request.team,
            actor=request.user,
            require_approval=form.cleaned_data["require_approval"],
            approve_existing=form.cleaned_data["approve_existing"],
        )
        if not request.htmx:
            return redirect("review_settings")
        form = PolicyForm(initial={"require_approval": policy.require_approval})
        context = {**_settings_context(request, form, policy), "saved": True}
        return render(request, f"{SETTINGS}#policy-form", context)
    return render(request, SETTINGS, _settings_context(request, form, policy))


def _queue_context(request, form):
    items, total = selectors.review_queue(team=request.team)
    # Which control sent an invalid form: its error is shown next to it.
    error_origin = form.data.get("origin", "bulk") if form.is_bound and form.errors else None
    # After an error from the bulk bar, the selection stays as it was.
    kept = form.cleaned_data.get("ids", []) if error_origin == "bulk" else []
    return {
        "items": items,
        "total": total,
        "count_cap": selectors.COUNT_CAP,
        "form": form,
        "error_origin": error_origin,
        "kept_selection": kept,
        "policy": team_policy(request.team),
    }


def _settings_context(request, form, policy):
    month = Month.current()
    pending = selectors.pending_count(team=request.team)
    used = images_used(team_id=request.team.pk, month=month)
    return {"form": form, "policy": policy, "pending": pending, "used": used, "month": month,
            "count_cap": selectors.COUNT_CAP}
