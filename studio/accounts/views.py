from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from studio.teams.middleware import SESSION_KEY as TEAM_SESSION_KEY
from studio.teams.selectors import invitation_by_token
from studio.teams.services import TeamRuleError, invitation_accept, team_create_personal

from .forms import EmailForm, PasswordForm, SignupForm
from .throttle import signup_allowed

ACCOUNT = "accounts/account.html"
SIGNUP = "accounts/signup.html"
INVITATION_GONE = (
    "This invitation has expired, was revoked, or was already used: an account made "
    "here gets a personal team of its own. Ask whoever invited you for a new link."
)
SIGNUP_LIMITED = (
    "Too many sign-ups from your network in the last hour. Try again later, "
    "or ask a teammate to invite you."
)


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("studio")
    # From an invitation's "Create one": the new account joins that team at once.
    token = request.GET.get("invitation", "")
    invitation = invitation_by_token(token=token) if token else None
    problem = None
    if token and (invitation is None or not invitation.is_pending):
        invitation, problem = None, INVITATION_GONE
    initial = {"email": invitation.email} if invitation is not None else None
    form = SignupForm(request.POST or None, initial=initial)
    context = {"form": form, "invitation": invitation, "invitation_problem": problem}
    if request.method == "POST":
        if not signup_allowed(request):
            form = SignupForm(request.POST)
            form.errors.clear()  # say only why it was refused
            form.add_error(None, SIGNUP_LIMITED)
            return render(request, SIGNUP, {**context, "form": form}, status=429)
        if form.is_valid():
            membership = None
            with transaction.atomic():
                user = form.save()
                if invitation is not None:
                    try:  # the invitation's own rules, and its audit entry, as any joining
                        membership = invitation_accept(token=token, user=user)
                    except TeamRuleError:  # expired or used meanwhile
                        problem = INVITATION_GONE
                if membership is None:
                    team_create_personal(user=user)
            # Signed in by the model backend (axes only refuses, never authenticates).
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if membership is not None:
                request.session[TEAM_SESSION_KEY] = membership.team_id
                messages.success(
                    request,
                    f"Welcome to “{membership.team.name}”: you joined "
                    f"(role: {membership.get_role_display().lower()}).",
                )
                return redirect("invitation_detail", token=token)
            if problem:
                messages.error(
                    request, f"Your account is ready, but {problem[0].lower()}{problem[1:]}"
                )
            return redirect(_safe_next(request) or "studio")
    return render(request, SIGNUP, context)


@require_http_methods(["GET", "POST"])
def account(request):
    """The email address (for password resets) and the password."""
    email_form = EmailForm(instance=request.user)
    password_form = PasswordForm(request.user)
    if request.method == "POST" and request.POST.get("form") == "email":
        email_form = EmailForm(request.POST, instance=request.user)
        if email_form.is_valid():
            email_form.save()
            messages.success(request, "Email address saved.")
            return redirect("account")
    elif request.method == "POST" and request.POST.get("form") == "password":
        password_form = PasswordForm(request.user, request.POST)
        if password_form.is_valid():
            user = password_form.save()
            update_session_auth_hash(request, user)  # stay signed in here, out elsewhere
            messages.success(request, "Password changed.")
            return redirect("account")
    context = {"email_form": email_form, "password_form": password_form}
    return render(request, ACCOUNT, context)


def _safe_next(request) -> str | None:
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None
