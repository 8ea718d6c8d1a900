"""Changing roles, removing people, leaving, transferring ownership: the rules
that keep a team with an owner, and the audit log of every change."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.audit.models import AuditEntry
from studio.teams.models import Membership, Role
from tests.fixtures.factories import make_member
from tests.gallery.factories import make_result, sign_in

HTMX = {"HTTP_HX_REQUEST": "true"}


def membership(team, user) -> Membership:
    return Membership.objects.get(team=team, user=user)


def change_role(client, target: Membership, role: str):
    return client.post(reverse("member_role", args=[target.pk]), {"role": role}, **HTMX)


@pytest.fixture
def people(team, user):
    """The owner (alice, signed in as `user`), an admin, a member and a viewer."""
    return {
        "owner": user,
        "admin": make_member(team, Role.ADMIN, "ada"),
        "member": make_member(team, Role.MEMBER, "mo"),
        "viewer": make_member(team, Role.VIEWER, "vi"),
    }


def test_the_owner_changes_a_role_and_it_is_audited(client, team, people):
    sign_in(client, people["owner"], team)
    target = membership(team, people["member"])

    response = change_role(client, target, Role.VIEWER)

    assert response.status_code == 200
    assert 'id="members"' in response.content.decode()
    target.refresh_from_db()
    assert target.role == Role.VIEWER
    entry = AuditEntry.objects.get(action="member.role")
    assert (entry.team_id, entry.actor, entry.before, entry.after) == (
        team.pk, people["owner"], {"role": "member"}, {"role": "viewer"}
    )
    assert entry.target_id == str(target.pk)


def test_an_admin_manages_members_but_never_touches_an_owner(client, team, people):
    sign_in(client, people["admin"], team)
    owner = membership(team, people["owner"])
    member = membership(team, people["member"])

    assert change_role(client, member, Role.ADMIN).status_code == 200
    assert membership(team, people["member"]).role == Role.ADMIN
    assert change_role(client, member, Role.OWNER).status_code == 403  # cannot make owners
    assert change_role(client, owner, Role.MEMBER).status_code == 403
    assert client.post(reverse("member_remove", args=[owner.pk]), **HTMX).status_code == 403
    assert membership(team, people["owner"]).role == Role.OWNER
    assert membership(team, people["member"]).role == Role.ADMIN


def test_the_only_owner_cannot_be_demoted_or_leave(client, team, people):
    sign_in(client, people["owner"], team)
    co_owner = membership(team, people["admin"])
    change_role(client, co_owner, Role.OWNER)
    sign_in(client, people["admin"], team)  # now an owner too
    alice = membership(team, people["owner"])

    change_role(client, alice, Role.MEMBER)  # two owners: allowed
    assert membership(team, people["owner"]).role == Role.MEMBER

    sign_in(client, people["admin"], team)
    response = client.post(reverse("team_leave"))
    assert response.status_code == 200
    assert "You are the team’s only owner" in response.content.decode().replace("&#x27;", "’")
    assert membership(team, people["admin"]).role == Role.OWNER

    sign_in(client, people["owner"], team)  # a member now; cannot touch the owner
    assert change_role(client, membership(team, people["admin"]), Role.MEMBER).status_code == 403


def test_an_owner_cannot_demote_the_last_owner_through_a_co_owner_race(team, people):
    """The rule is checked inside the team lock: the second of two demotions fails."""
    from studio.teams import services
    from studio.teams.services import TeamRuleError

    alice = membership(team, people["owner"])
    ada = membership(team, people["admin"])
    services.membership_change_role(actor=alice, membership=ada, role=Role.OWNER)
    services.membership_change_role(actor=ada, membership=alice, role=Role.ADMIN)
    with pytest.raises(TeamRuleError):
        services.membership_change_role(actor=ada, membership=ada, role=Role.ADMIN)
    assert Membership.objects.filter(team=team, role=Role.OWNER).count() == 1


def test_removing_a_member_takes_access_away_at_once(client, team, people, settings, tmp_path):
    sign_in(client, people["owner"], team)
    result = make_result(team, people["owner"], prompt="team secret")
    member_client = sign_in(client.__class__(), people["member"], team)
    thumbnail = reverse("result_media", args=[result.pk, "thumbnail"])
    assert member_client.get(thumbnail).status_code == 200

    removed = membership(team, people["member"])
    response = client.post(reverse("member_remove", args=[removed.pk]), **HTMX)

    assert response.status_code == 200
    assert f'id="member-{removed.pk}"' not in response.content.decode()
    assert not Membership.objects.filter(team=team, user=people["member"]).exists()
    # Issue 15: their sessions end, so every next request is sent to sign in.
    for url in (thumbnail, reverse("result_detail", args=[result.pk]), reverse("gallery")):
        response = member_client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    entry = AuditEntry.objects.get(action="member.remove")
    assert entry.before == {"role": "member"} and entry.actor == people["owner"]


def test_nobody_removes_themselves_they_leave(client, team, people):
    sign_in(client, people["admin"], team)
    me = membership(team, people["admin"])

    response = client.post(reverse("member_remove", args=[me.pk]), **HTMX)

    assert "Leave team" in response.content.decode()
    assert Membership.objects.filter(pk=me.pk).exists()


def test_a_member_leaves_and_lands_in_another_team(client, team, people):
    sign_in(client, people["member"], team)

    response = client.post(reverse("team_leave"))

    assert response.status_code == 302 and response["Location"] == reverse("team_list")
    assert not Membership.objects.filter(team=team, user=people["member"]).exists()
    page = client.get(reverse("team_list")).content.decode()
    assert "<strong>mo&#x27;s team</strong>" in page
    assert "<strong>alice&#x27;s team</strong>" not in page
    entry = AuditEntry.objects.get(action="member.remove")
    assert entry.after == {"left": True}


def test_transfer_of_ownership(client, team, people):
    sign_in(client, people["owner"], team)
    target = membership(team, people["member"])

    response = client.post(reverse("member_transfer", args=[target.pk]))

    assert response.status_code == 302
    assert membership(team, people["member"]).role == Role.OWNER
    assert membership(team, people["owner"]).role == Role.ADMIN
    assert AuditEntry.objects.filter(action="member.role").count() == 2
    # The former owner is an admin now: no second transfer.
    other = membership(team, people["viewer"])
    assert client.post(reverse("member_transfer", args=[other.pk])).status_code == 403


def test_an_admin_cannot_transfer_ownership(client, team, people):
    sign_in(client, people["admin"], team)
    target = membership(team, people["member"])

    assert client.post(reverse("member_transfer", args=[target.pk])).status_code == 403
    assert membership(team, people["member"]).role == Role.MEMBER


def test_an_unknown_role_is_refused_with_a_message(client, team, people):
    sign_in(client, people["owner"], team)
    target = membership(team, people["member"])

    response = change_role(client, target, "emperor")

    assert response.status_code == 200
    assert "Choose one of the roles." in response.content.decode()
    assert membership(team, people["member"]).role == Role.MEMBER


def test_the_team_page_shows_controls_by_role(client, team, people):
    sign_in(client, people["owner"], team)
    owner_page = client.get(reverse("team_settings")).content.decode()
    sign_in(client, people["member"], team)
    member_page = client.get(reverse("team_settings")).content.decode()

    assert "Invite people" in owner_page and "Transfer ownership" in owner_page
    assert f'id="role-{membership(team, people["viewer"]).pk}"' in owner_page
    assert "Invite people" not in member_page and "<select" not in member_page
    assert "Leave team" in member_page
