"""Invitations: by link or by email, single use, expiring, revocable; accepting one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from studio.teams.middleware import SESSION_KEY
from studio.teams.models import Invitation, Membership, Role
from tests.conftest import wait_for
from tests.fixtures.factories import make_member, make_user
from tests.gallery.factories import sign_in

HTMX = {"HTTP_HX_REQUEST": "true"}


def invite(client, **data):
    return client.post(reverse("invitation_create"), {"role": "member", "expires_in": "7", **data},
                       **HTMX)


def link_in(response) -> str:
    return re.search(r'<code id="created-link">([^<]+)</code>', response.content.decode())[1]


def test_an_admin_creates_a_single_use_link(client, team):
    admin = make_member(team, Role.ADMIN, "ada")
    sign_in(client, admin, team)

    response = invite(client, role="viewer", expires_in="1")

    assert response.status_code == 200
    invitation = Invitation.objects.get()
    assert (invitation.team, invitation.role, invitation.created_by) == (team, "viewer", admin)
    assert len(invitation.token) >= 43  # 32 random bytes
    assert timedelta(hours=23) < invitation.expires_at - timezone.now() <= timedelta(days=1)
    assert link_in(response) == f"http://testserver/invitations/{invitation.token}/"
    # The team page lists it, with a revoke button.
    html = client.get(reverse("team_settings")).content.decode()
    assert invitation.token in html and reverse("invitation_revoke", args=[invitation.pk]) in html


def test_accepting_joins_with_the_role_and_switches_to_the_team(client, team):
    invitation = Invitation.objects.create(
        team=team, role=Role.VIEWER, expires_at=timezone.now() + timedelta(days=1)
    )
    newcomer = make_user("nina")
    client.force_login(newcomer)

    page = client.get(reverse("invitation_detail", args=[invitation.token]))
    assert page.status_code == 200
    assert f"to join <strong>{team.name}</strong>" in page.content.decode().replace("&#x27;", "'")

    response = client.post(reverse("invitation_accept", args=[invitation.token]))

    assert response.status_code == 302 and response["Location"] == reverse("studio")
    membership = Membership.objects.get(team=team, user=newcomer)
    assert membership.role == Role.VIEWER
    assert client.session[SESSION_KEY] == team.pk
    invitation.refresh_from_db()
    assert invitation.accepted_by == newcomer and invitation.accepted_at is not None


def test_a_link_works_once(client, team):
    invitation = Invitation.objects.create(team=team, expires_at=timezone.now() + timedelta(days=1))
    first, second = make_user("first"), make_user("second")
    client.force_login(first)
    client.post(reverse("invitation_accept", args=[invitation.token]))
    client.force_login(second)

    response = client.post(reverse("invitation_accept", args=[invitation.token]))

    assert response.status_code == 404
    assert "already used" in response.content.decode()
    assert not Membership.objects.filter(team=team, user=second).exists()
    assert client.get(reverse("invitation_detail", args=[invitation.token])).status_code == 404


@pytest.mark.parametrize("state", ["expired", "revoked", "unknown"])
def test_expired_revoked_and_unknown_links_are_refused(client, team, state):
    invitation = Invitation.objects.create(team=team, expires_at=timezone.now() + timedelta(days=1))
    if state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    elif state == "revoked":
        Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    # "not a token": PostgreSQL refuses a NUL in a text parameter (the URL fuzz found a 500).
    token = {"unknown": "x" * 43, "not a token": "a%00b"}.get(state, invitation.token)
    client.force_login(make_user("late"))

    assert client.get(reverse("invitation_detail", args=[token])).status_code == 404
    assert client.post(reverse("invitation_accept", args=[token])).status_code == 404
    assert Membership.objects.filter(team=team).count() == 1


def test_someone_already_in_the_team_keeps_their_role_and_the_link_stays_unused(
    client, team, user
):
    invitation = Invitation.objects.create(
        team=team, role=Role.VIEWER, expires_at=timezone.now() + timedelta(days=1)
    )
    client.force_login(user)  # the owner

    client.post(reverse("invitation_accept", args=[invitation.token]))

    assert Membership.objects.get(team=team, user=user).role == Role.OWNER
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_a_signed_out_visitor_sees_the_invitation_and_is_asked_to_sign_in(client, team):
    invitation = Invitation.objects.create(team=team, expires_at=timezone.now() + timedelta(days=1))
    url = reverse("invitation_detail", args=[invitation.token])

    page = client.get(url)

    assert page.status_code == 200
    assert f'href="{reverse("login")}?next={url}"' in page.content.decode()
    accept = client.post(reverse("invitation_accept", args=[invitation.token]))
    assert accept.status_code == 302 and accept["Location"].startswith(reverse("login"))


def test_revoking_stops_the_link(client, team, user):
    invitation = Invitation.objects.create(team=team, expires_at=timezone.now() + timedelta(days=1))
    client.force_login(user)

    response = client.post(reverse("invitation_revoke", args=[invitation.pk]), **HTMX)

    assert response.status_code == 200
    assert invitation.token not in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_an_admin_cannot_invite_owners_and_members_cannot_invite_at_all(client, team):
    sign_in(client, make_member(team, Role.ADMIN, "ada"), team)
    response = invite(client, role="owner")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert invite(client, role="admin").status_code == 200
    assert Invitation.objects.get().role == "admin"

    sign_in(client, make_member(team, Role.MEMBER, "mo"), team)
    assert invite(client).status_code == 403
    assert Invitation.objects.count() == 1


def test_an_email_invitation_is_sent_by_a_worker(client, team, user, celery_worker, mailoutbox):
    client.force_login(user)

    response = client.post(
        reverse("invitation_create"),
        {"role": "member", "expires_in": "7", "email": "guest@example.com"},
        **HTMX,
    )

    assert "sent to guest@example.com" in response.content.decode()
    invitation = Invitation.objects.get()
    wait_for(lambda: len(mailoutbox) == 1, message="the invitation email was not sent")
    email = mailoutbox[0]
    assert email.to == ["guest@example.com"]
    assert email.subject == f"You are invited to {team.name} on Studio"
    assert f"http://testserver/invitations/{invitation.token}/" in email.body
    assert "as member" in email.body


def test_a_bad_email_is_explained_next_to_the_field(client, team, user):
    client.force_login(user)

    response = invite(client, email="not an address")

    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not Invitation.objects.exists()


# --- signing up from an invitation -----------------------------------------------------------

SIGNUP_FORM = {"username": "nadia", "password1": "a long enough passphrase",
               "password2": "a long enough passphrase"}


def test_signing_up_from_an_invitation_joins_the_team_and_returns_to_it(client, team):
    from studio.audit.models import AuditEntry

    invitation = Invitation.objects.create(
        team=team, role=Role.VIEWER, email="nadia@example.com",
        expires_at=timezone.now() + timedelta(days=1),
    )
    page = client.get(reverse("invitation_detail", args=[invitation.token])).content.decode()
    signup_url = f"{reverse('signup')}?invitation={invitation.token}"
    assert f'href="{signup_url}"' in page

    form = client.get(signup_url).content.decode()
    assert f"to join {team.name}" in form.replace("&#x27;", "'")
    assert 'value="nadia@example.com"' in form  # where the invitation was sent
    response = client.post(signup_url, {**SIGNUP_FORM, "email": "nadia@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("invitation_detail", args=[invitation.token])
    nadia = Membership.objects.get(team=team, user__username="nadia")
    assert nadia.role == Role.VIEWER
    assert Membership.objects.filter(user=nadia.user).count() == 1  # no personal team besides
    assert client.session[SESSION_KEY] == team.pk
    invitation.refresh_from_db()
    assert invitation.accepted_by == nadia.user
    entry = AuditEntry.objects.get(action="member.add")
    assert entry.actor == nadia.user and entry.after["invitation"] == invitation.pk
    back = client.get(response["Location"])
    assert back.status_code == 200 and "You joined" in back.content.decode()
    # The link worked once: nobody else joins with it.
    client.logout()
    assert client.get(response["Location"]).status_code == 404


@pytest.mark.parametrize("state", ["expired", "used", "unknown", "not a token"])
def test_signing_up_from_a_bad_invitation_says_so_and_joins_nothing(client, team, state):
    invitation = Invitation.objects.create(team=team, expires_at=timezone.now() + timedelta(days=1))
    if state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    elif state == "used":
        Invitation.objects.filter(pk=invitation.pk).update(
            accepted_at=timezone.now(), accepted_by=make_user("first")
        )
    # "not a token": PostgreSQL refuses a NUL in a text parameter (the URL fuzz found a 500).
    token = {"unknown": "x" * 43, "not a token": "a%00b"}.get(state, invitation.token)
    url = f"{reverse('signup')}?invitation={token}"

    assert "This invitation has expired, was revoked, or was already used" in (
        client.get(url).content.decode()
    )
    response = client.post(url, SIGNUP_FORM)

    assert response.status_code == 302 and response["Location"] == reverse("studio")
    assert not Membership.objects.filter(team=team, user__username="nadia").exists()
    assert Membership.objects.filter(user__username="nadia").count() == 1  # a personal team


def test_an_invitation_that_expires_while_signing_up_says_so(client, team):
    invitation = Invitation.objects.create(team=team, expires_at=timezone.now() + timedelta(days=1))
    url = f"{reverse('signup')}?invitation={invitation.token}"
    client.get(url)
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())

    response = client.post(url, SIGNUP_FORM, follow=True)

    assert "Your account is ready, but this invitation has expired" in response.content.decode()
    assert not Membership.objects.filter(team=team, user__username="nadia").exists()
