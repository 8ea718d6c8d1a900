from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.shortcuts import redirect, render

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
        return redirect("studio")
    return render(request, "accounts/signup.html", {"form": form})
