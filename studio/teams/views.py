from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services
from .forms import ImageLimitForm, InvitationForm, RoleForm, TeamForm
from .middleware import SESSION_KEY
from .models import ROLE_HELP, Role
from .services import TeamRuleError

PAGE = "teams/team.html"
LIST_PAGE = "teams/teams.html"
INVITATION_PAGE = "teams/invitation.html"


def _membership(request):
    if request.membership is None:
        raise PermissionDenied("You are not a member of any team.")
    return request.membership


def _switch_to(request, membership) -> None:
    request.session[SESSION_KEY] = membership.team_id


# --- your teams ----------------------------------------------------------------------


@require_GET
def team_list(request):
    return render(request, LIST_PAGE, _list_context(request, TeamForm()))


@require_POST
def team_create(request):
    form = TeamForm(request.POST)
    if not form.is_valid():
        return render(request, LIST_PAGE, _list_context(request, form))
    membership = services.team_create(user=request.user, name=form.cleaned_data["name"])
    _switch_to(request, membership)
    messages.success(request, f"Team “{membership.team.name}” created. Invite people to it here.")
    return redirect("team_settings")


@require_POST
def team_switch(request, pk: int):
    membership = selectors.membership_of_user_in(user=request.user, team_id=pk)
    _switch_to(request, membership)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("studio")
    return redirect(next_url)


# --- the current team ---------------------------------------------------------------


@require_GET
def team_settings(request):
    if request.membership is None:
        return redirect("team_list")
    return render(request, PAGE, _team_context(request))


@require_POST
def team_rename(request):
    actor = _membership(request)
    services.ensure_can_manage_members(actor)
    form = TeamForm(request.POST)
    if form.is_valid():
        services.team_rename(actor=actor, name=form.cleaned_data["name"])
        return redirect("team_settings")
    return render(request, PAGE, _team_context(request, rename_form=form))


@require_POST
def team_leave(request):
    membership = _membership(request)
    try:
        services.membership_leave(membership=membership)
    except TeamRuleError as exc:
        return render(request, PAGE, _team_context(request, leave_error=str(exc)))
    request.session.pop(SESSION_KEY, None)
    messages.success(request, f"You left “{membership.team.name}”.")
    return redirect("team_list")


@require_POST
def invitation_create(request):
    actor = _membership(request)
    services.ensure_can_manage_members(actor)
    form = InvitationForm(request.POST, grantable=actor.grantable_roles())
    created = None
    if form.is_valid():
        created = services.invitation_create(
            actor=actor,
            role=form.cleaned_data["role"],
            email=form.cleaned_data["email"],
            lifetime=form.lifetime,
            accept_url_for=lambda invitation: _invitation_link(request, invitation),
        )
        form = InvitationForm(grantable=actor.grantable_roles())
    context = _team_context(request, invitation_form=form, created=created)
    return render(request, f"{PAGE}#invitations" if request.htmx else PAGE, context)


@require_POST
def invitation_revoke(request, pk: int):
    actor = _membership(request)
    invitation = selectors.invitation_for_team(team=request.team, pk=pk)
    services.invitation_revoke(actor=actor, invitation=invitation)
    context = _team_context(request)
    return render(request, f"{PAGE}#invitations" if request.htmx else PAGE, context)


@require_POST
def member_role(request, pk: int):
    actor = _membership(request)
    member = selectors.membership_for_team(team=request.team, pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _members(request, error=(pk, "Choose one of the roles."))
    try:
        services.membership_change_role(
            actor=actor, membership=member, role=form.cleaned_data["role"]
        )
    except TeamRuleError as exc:
        return _members(request, error=(pk, str(exc)))
    return _members(request)


@require_POST
def member_limit(request, pk: int):
    """An admin sets a member's monthly image limit (empty: none of their own)."""
    actor = _membership(request)
    member = selectors.membership_for_team(team=request.team, pk=pk)
    form = ImageLimitForm(request.POST)
    if not form.is_valid():
        message = "Give a number of images, 0 or more, or leave it empty."
        return _members(request, error=(pk, message))
    try:
        services.membership_set_image_limit(
            actor=actor, membership=member, limit=form.cleaned_data["monthly_image_limit"]
        )
    except TeamRuleError as exc:
        return _members(request, error=(pk, str(exc)))
    return _members(request)


@require_POST
def member_remove(request, pk: int):
    actor = _membership(request)
    member = selectors.membership_for_team(team=request.team, pk=pk)
    heir = None
    if request.POST.get("heir"):
        try:
            heir = selectors.membership_for_team(team=request.team, pk=int(request.POST["heir"]))
        except ValueError:
            raise Http404("No such member.") from None
    try:
        services.membership_remove(actor=actor, membership=member, heir=heir)
    except TeamRuleError as exc:
        return _members(request, error=(pk, str(exc)))
    return _members(request)


@require_POST
def member_transfer(request, pk: int):
    actor = _membership(request)
    member = selectors.membership_for_team(team=request.team, pk=pk)
    try:
        services.team_transfer_ownership(actor=actor, to=member)
    except TeamRuleError as exc:
        return _members(request, error=(pk, str(exc)))
    # The actor is an admin now: the page's controls change with the role.
    messages.success(request, f"{member.user.get_username()} is now an owner of the team.")
    return redirect("team_settings")


# --- invitations, from the invited person's side ------------------------------------


@login_not_required
@require_GET
def invitation_detail(request, token: str):
    invitation = selectors.invitation_by_token(token=token)
    # Whoever used it comes back here (after signing up from it): they joined.
    joined = selectors.joined_by_invitation(invitation=invitation, user=request.user)
    status = 200 if joined or (invitation is not None and invitation.is_pending) else 404
    context = {"invitation": invitation, "joined": joined}
    return render(request, INVITATION_PAGE, context, status=status)


@require_POST
def invitation_accept(request, token: str):
    try:
        membership = services.invitation_accept(token=token, user=request.user)
    except TeamRuleError as exc:
        invitation = selectors.invitation_by_token(token=token)
        context = {"invitation": invitation, "error": str(exc)}
        return render(request, INVITATION_PAGE, context, status=404)
    _switch_to(request, membership)
    messages.success(request, f"Welcome to “{membership.team.name}”.")
    return redirect("studio")


# --- helpers ---------------------------------------------------------------------------


def _members(request, *, error=None):
    """The members section (HTMX) or the whole page, after a change to someone's role."""
    if request.membership is None or not request.htmx:
        return redirect("team_settings")
    request.membership.refresh_from_db()  # the actor's own role may have just changed
    context = _team_context(request, member_error=error)
    return render(request, f"{PAGE}#members", context)


def _invitation_link(request, invitation):
    return request.build_absolute_uri(reverse("invitation_detail", args=[invitation.token]))


def _team_context(request, **extra) -> dict:
    actor = request.membership
    members = selectors.team_members(team=request.team)
    invitations = (
        selectors.pending_invitations(team=request.team) if actor.can_manage_members else []
    )
    for invitation in [*invitations, extra.get("created")]:
        if invitation is not None:
            invitation.link = _invitation_link(request, invitation)
    context = {
        "team": request.team,
        "actor": actor,
        "members": [(m, actor.can_manage(m) and m.pk != actor.pk) for m in members],
        "roles": [(r.value, r.label, ROLE_HELP[r]) for r in Role],
        "grantable": actor.grantable_roles(),
        "invitations": invitations,
        "invitation_form": InvitationForm(grantable=actor.grantable_roles()),
        "rename_form": TeamForm(initial={"name": request.team.name}),
    }
    context.update(extra)
    return context


def _list_context(request, form) -> dict:
    return {
        "memberships": selectors.memberships_of_user(user=request.user),
        "form": form,
    }
