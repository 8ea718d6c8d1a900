"""The discussion in the viewer (comments, ratings), and notifications."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors, services
from .forms import CommentForm, NotificationSettingsForm, RatingForm
from .models import Kind
from .services import DiscussionRuleError

PANEL = "discussion/panel.html"
NOTIFICATIONS = "discussion/notifications.html"
BELL = "discussion/bell.html"


def _membership(request):
    if request.membership is None:
        raise PermissionDenied("You are not a member of any team.")
    return request.membership


def _seq(request) -> int | None:
    try:
        return int(request.GET.get("seq", ""))
    except ValueError:
        return None


# --- the viewer's discussion panel ------------------------------------------------------------


@require_GET
def result_discussion(request, pk: int):
    membership = _membership(request)
    result = selectors.result_for_member(team=request.team, pk=pk, membership=membership)
    return render(request, f"{PANEL}#panel", _panel_context(request, result))


@require_POST
def comment_create(request, pk: int):
    membership = _membership(request)
    result = selectors.result_for_member(team=request.team, pk=pk, membership=membership)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_post(
                membership=membership, result=result, body=form.cleaned_data["body"]
            )
        except DiscussionRuleError as exc:
            form.add_error("body", str(exc))
    if not request.htmx:
        return redirect("result_detail", pk=result.pk)
    if form.errors:
        return render(request, f"{PANEL}#comment-form", {"result": result, "form": form})
    request.team.refresh_from_db(fields=["change_seq"])
    context = {**_panel_context(request, result), "oob": True}
    return render(request, f"{PANEL}#posted", context)


@require_GET
def comment_updates(request, pk: int):
    """The viewer asks every 2 s: did this image's thread change after `seq`?

    While the team's change counter has not moved, a 204 from what the
    middleware already read; otherwise one indexed check on (result, seq).
    """
    seq = _seq(request)
    if seq is None:
        return HttpResponseBadRequest("seq must be an integer")
    membership = _membership(request)
    if request.team.change_seq <= seq:
        return HttpResponse(status=204)
    result = selectors.result_for_member(team=request.team, pk=pk, membership=membership)
    context = {
        "result": result,
        "seq": request.team.change_seq,
        "changed": selectors.thread_changed_since(result=result, seq=seq),
        "comments": selectors.thread(result=result),
        "oob": True,
    }
    return render(request, f"{PANEL}#updates", context)


@require_http_methods(["GET", "POST"])
def comment_edit(request, pk: int):
    membership = _membership(request)
    comment = selectors.comment_for_member(team=request.team, pk=pk, membership=membership)
    if comment.author_id != membership.user_id:
        raise PermissionDenied("Only whoever wrote a comment can change it.")
    if request.method == "GET":
        form = CommentForm(initial={"body": comment.body})
        return render(request, f"{PANEL}#comment-edit", {"comment": comment, "form": form})
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_edit(
                membership=membership, comment=comment, body=form.cleaned_data["body"]
            )
        except DiscussionRuleError as exc:
            form.add_error("body", str(exc))
    if form.errors:
        return render(request, f"{PANEL}#comment-edit", {"comment": comment, "form": form})
    if not request.htmx:
        return redirect("result_detail", pk=comment.result_id)
    return render(request, f"{PANEL}#comment", {"comment": comment})


@require_POST
def comment_remove(request, pk: int):
    membership = _membership(request)
    comment = selectors.comment_for_member(team=request.team, pk=pk, membership=membership)
    services.comment_remove(membership=membership, comment=comment)
    if not request.htmx:
        return redirect("result_detail", pk=comment.result_id)
    return HttpResponse("")  # the <li> is swapped for nothing


@require_POST
def rating_set(request, pk: int):
    membership = _membership(request)
    result = selectors.result_for_member(team=request.team, pk=pk, membership=membership)
    form = RatingForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Give from 1 to 5 stars, or 0 to take the rating back.")
    services.rating_set(membership=membership, result=result, stars=form.cleaned_data["stars"])
    if not request.htmx:
        return redirect("result_detail", pk=result.pk)
    spread = selectors.rating_spread(result=result, user=request.user)
    return render(request, f"{PANEL}#rating", {"result": result, "spread": spread})


def _panel_context(request, result) -> dict:
    return {
        "result": result,
        "comments": selectors.thread(result=result),
        "form": CommentForm(),
        "spread": selectors.rating_spread(result=result, user=request.user),
        "mention_names": selectors.mention_names(team=request.team),
        "mention_id": f"mention-names-{result.pk}",
        # Read by the middleware before the thread: a change in between is sent again.
        "seq": request.team.change_seq,
    }


# --- notifications ----------------------------------------------------------------------------


@require_GET
def notification_list(request):
    if request.team is None:
        return redirect("team_list")
    return render(request, NOTIFICATIONS, _notifications_context(request))


@require_GET
def notification_bell(request):
    """The bell asks every few seconds; unchanged team counter: a 204, no query."""
    seq = _seq(request)
    if seq is None:
        return HttpResponseBadRequest("seq must be an integer")
    if request.team is None or request.team.change_seq <= seq:
        return HttpResponse(status=204)
    return render(request, BELL, bell_context(request))


@require_POST
def notification_open(request, pk: int):
    notification = selectors.notification_of(team=request.team, user=request.user, pk=pk)
    services.notification_read(user=request.user, notification=notification)
    target = notification.url
    if not target or not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect("notification_list")
    return redirect(target)


@require_POST
def notifications_read_all(request):
    _membership(request)
    services.notifications_read_all(user=request.user, team=request.team)
    return redirect("notification_list")


@require_POST
def notification_settings(request):
    _membership(request)
    form = NotificationSettingsForm(request.POST)
    if form.is_valid():
        services.notification_settings_update(
            user=request.user, muted=form.muted, daily_digest=form.cleaned_data["daily_digest"]
        )
        return redirect("notification_list")
    return render(request, NOTIFICATIONS, _notifications_context(request, form=form))


def bell_context(request) -> dict:
    return {
        "unread": selectors.unread_count(team=request.team, user=request.user),
        "unread_cap": selectors.UNREAD_CAP,
        "seq": request.team.change_seq if request.team else 0,
    }


def _notifications_context(request, form=None) -> dict:
    prefs = services.notification_settings(user=request.user)
    if form is None:
        kinds = [k for k in Kind.values if prefs.wants(k)]
        form = NotificationSettingsForm(
            initial={"kinds": kinds, "daily_digest": prefs.daily_digest}
        )
    return {
        "notifications": selectors.notifications_of(team=request.team, user=request.user),
        "settings_form": form,
        **bell_context(request),
    }
