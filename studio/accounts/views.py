from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from studio.teams.services import team_create_personal

from .forms import EmailForm, PasswordForm, SignupForm
from .throttle import signup_allowed

ACCOUNT = "accounts/account.html"
SIGNUP_LIMITED = (
    "Too many sign-ups from your network in the last hour. Try again later, "
    "or ask a teammate to invite you."
)


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("studio")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        if not signup_allowed(request):
            form = SignupForm(request.POST)
            form.errors.clear()  # say only why it was refused
            form.add_error(None, SIGNUP_LIMITED)
            return render(request, "accounts/signup.html", {"form": form}, status=429)
        if form.is_valid():
            with transaction.atomic():
                user = form.save()
                team_create_personal(user=user)
            # Signed in by the model backend (axes only refuses, never authenticates).
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            # From an invitation's "Create one": back to it, to join with one click.
            return redirect(_safe_next(request) or "studio")
    return render(request, "accounts/signup.html", {"form": form})


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
