"""Sign up, sign in, sign out; and no other page without a signed-in user."""

from __future__ import annotations

import re
from html import unescape as html_unescape

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from studio.teams.models import Membership, Team
from tests.fixtures.factories import make_user

User = get_user_model()
PASSWORD = "a long enough passphrase"


def signup(client, username="bob", password1=PASSWORD, password2=PASSWORD):
    return client.post(
        reverse("signup"),
        {"username": username, "password1": password1, "password2": password2},
    )


def counts():
    return User.objects.count(), Team.objects.count(), Membership.objects.count()


def signed_in_user_id(client):
    return client.session.get(SESSION_KEY)


def error_for(html: str, field_id: str) -> list[str]:
    """The messages of the error list Django ties to a field (aria-describedby)."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', html, re.S)
    assert match, f"no error list for {field_id}"
    return [html_unescape(li) for li in re.findall(r"<li>(.*?)</li>", match.group(1), re.S)]


# --- sign up ---------------------------------------------------------------------------


def test_signup_page_has_labelled_fields(client):
    html = client.get(reverse("signup")).content.decode()

    for label in ("Username", "Password", "Password confirmation"):
        assert f">{label}</label>" in html, label
    assert ">Sign up</button>" in html


@pytest.mark.django_db
def test_signup_creates_user_personal_team_and_signs_in(client):
    response = signup(client, "bob")

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(username="bob")
    assert user.check_password(PASSWORD)
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.team.name == "bob's team"
    assert list(membership.team.members.all()) == [user]
    assert str(signed_in_user_id(client)) == str(user.pk)
    page = client.get("/")
    assert page.status_code == 200
    assert "bob&#x27;s team" in page.content.decode()


@pytest.mark.django_db
def test_duplicate_username_is_refused_and_creates_nothing(client):
    make_user("bob")
    before = counts()

    response = signup(client, "bob")

    assert response.status_code == 200
    assert error_for(response.content.decode(), "id_username") == [
        "A user with that username already exists."
    ]
    assert counts() == before
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_mismatched_passwords_are_refused_and_create_nothing(client):
    response = signup(client, "carol", PASSWORD, PASSWORD + "!")

    assert response.status_code == 200
    html = response.content.decode()
    assert error_for(html, "id_password2") == ["The two password fields didn’t match."]
    # What was typed stays, except the passwords.
    assert 'value="carol"' in html
    assert PASSWORD not in html
    assert counts() == (0, 0, 0)
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_a_weak_password_is_refused(client):
    response = signup(client, "dave", "12345678", "12345678")

    assert response.status_code == 200
    errors = error_for(response.content.decode(), "id_password2")
    assert "This password is too common." in errors
    assert "This password is entirely numeric." in errors
    assert counts() == (0, 0, 0)


def test_signed_in_user_is_sent_from_signup_to_the_studio(client_in):
    response = client_in.get(reverse("signup"))

    assert response.status_code == 302
    assert response["Location"] == "/"


# --- sign in and out ---------------------------------------------------------------------


def test_login_with_the_right_password(client, user):
    response = client.post(
        reverse("login"), {"username": "alice", "password": "correct horse battery"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert str(signed_in_user_id(client)) == str(user.pk)


def test_login_goes_back_to_the_page_asked_for(client, user):
    response = client.post(
        reverse("login"),
        {"username": "alice", "password": "correct horse battery", "next": "/?from=login"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/?from=login"


def test_login_with_a_wrong_password_explains_and_stays_signed_out(client, user):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()
    assert signed_in_user_id(client) is None


def test_logout_is_a_post_and_signs_out(client_in):
    assert client_in.get(reverse("logout")).status_code == 405
    assert signed_in_user_id(client_in) is not None

    response = client_in.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert signed_in_user_id(client_in) is None
    assert client_in.get("/").status_code == 302


# --- every other page needs a signed-in user -------------------------------------------------

# Open to everyone: the ways in, the load balancer's probe, VideoGen's webhook
# (signed instead), an invitation's landing page, and read-only share links.
PUBLIC = {
    "signup",
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "healthz",
    # Prometheus: a token or an allowed address, never a session (tests/ops/test_metrics.py)
    "metrics",
    "webhook_receive",
    "invitation_detail",
    "shared",
    "shared_result",
    "shared_media",
    # client links (proofing): the token is the visitor's key
    "client_link",
    "client_unlock",
    "client_name",
    "client_pick",
    "client_media",
}


def _studio_routes(patterns=None, prefix=""):
    """Every named route of Studio's own apps (the admin has its own sign-in)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            yield from _studio_routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            # Any value will do: sign-in is required before the view reads it.
            path = re.sub(r"<(\w+:)?(\w+)>", _sample, prefix + str(entry.pattern))
            yield entry.name, "/" + path


def _sample(match) -> str:
    converter = (match.group(1) or "str:")[:-1]
    return {"int": "1", "uuid": "00000000-0000-0000-0000-000000000001"}.get(converter, "x")


ROUTES = sorted(_studio_routes())


def test_the_route_list_covers_the_studio():
    names = {name for name, _ in ROUTES}
    assert {"studio", "generation_create", "generation_cancel", "generation_resubmit",
            "gallery_updates", "result_media", "reference_media", "logout"} <= names


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(("name", "path"), [r for r in ROUTES if r[0] not in PUBLIC])
def test_signed_out_visitor_is_sent_to_sign_in(client, name, path, method):
    response = getattr(client, method)(path)

    assert response.status_code == 302, name
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert counts() == (0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["signup", "login"])
def test_signup_and_login_pages_are_open(client, name):
    assert client.get(reverse(name)).status_code == 200


def test_signing_up_from_an_invitation_returns_to_it(client, db):
    from django.utils import timezone

    from studio.teams.models import Invitation
    from tests.fixtures.factories import make_user

    owner = make_user("owen")
    invitation = Invitation.objects.create(
        team=owner.teams.get(),
        created_by=owner,
        expires_at=timezone.now() + timezone.timedelta(days=1),
    )
    page = reverse("invitation_detail", args=[invitation.token])
    response = client.post(
        reverse("signup") + f"?next={page}",
        {"username": "newbie", "password1": "a long enough passphrase",
         "password2": "a long enough passphrase"},
    )
    assert response.status_code == 302 and response["Location"] == page
    assert "Join" in client.get(page).content.decode()
    # Somewhere else is not followed.
    client.logout()
    response = client.post(
        reverse("signup") + "?next=https://evil.example/",
        {"username": "other", "password1": "a long enough passphrase",
         "password2": "a long enough passphrase"},
    )
    assert response["Location"] == reverse("studio")
