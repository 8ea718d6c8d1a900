from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from studio.teams.services import team_create_personal

from .forms import SignupForm


@login_not_required
def signup(request):
    if request.user.is_authenticated:
        return redirect("studio")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            team_create_personal(user=user)
        login(request, user)
        # From an invitation's "Create one": back to it, to join with one click.
        return redirect(_safe_next(request) or "studio")
    return render(request, "accounts/signup.html", {"form": form})


def _safe_next(request) -> str | None:
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None
