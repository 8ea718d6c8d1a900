"""Removing a member hands their shared work over, keeps their images, ends their sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from studio.audit.models import AuditEntry
from studio.gallery.models import ClientLink, Collection, ShareLink
from studio.generations.models import Result
from studio.teams.models import Membership, Role
from tests.fixtures.factories import make_member, make_user
from tests.gallery.factories import make_collection, make_result, make_share_link, sign_in

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def departing(db):
    owner = make_user("olga")
    team = owner.teams.get()
    leaver, heir = make_member(team, Role.MEMBER, "lea"), make_member(team, Role.MEMBER, "hal")
    result = make_result(team, leaver, prompt="a lighthouse by lea")
    board = make_collection(team, leaver, "Lea's board", results=[result])
    make_share_link(team, leaver, collection=board)
    ClientLink.objects.create(
        team=team,
        collection=board,
        created_by=leaver,
        expires_at=timezone.now() + timedelta(days=1),
    )
    other_team_board = make_collection(leaver.teams.get(name__startswith="lea"), leaver, "Private")
    return team, owner, leaver, heir, result, other_team_board


def test_the_chosen_member_receives_collections_and_links(client, departing):
    team, owner, leaver, heir, result, private = departing
    their_browser = Client()
    their_browser.force_login(leaver)  # a session of theirs that the removal must end
    sign_in(client, owner, team)
    leaving = Membership.objects.get(team=team, user=leaver)
    heir_membership = Membership.objects.get(team=team, user=heir)

    response = client.post(
        reverse("member_remove", args=[leaving.pk]), {"heir": heir_membership.pk}, **HTMX
    )

    assert response.status_code == 200
    assert not Membership.objects.filter(pk=leaving.pk).exists()
    assert Collection.objects.get(name="Lea's board").created_by == heir
    assert ShareLink.objects.get(team=team).created_by == heir
    assert ClientLink.objects.get(team=team).created_by == heir
    private.refresh_from_db()
    assert private.created_by == leaver  # their other team's work is theirs still
    result.refresh_from_db()
    assert Result.objects.filter(pk=result.pk, generation__created_by=leaver).exists()
    gallery = client.get(reverse("gallery")).content.decode()
    assert "a lighthouse by lea" in gallery and '<span class="tile__meta">lea ·' in gallery
    # Their sessions ended: the browser they were signed in with is signed out.
    assert their_browser.get(reverse("gallery")).status_code == 302
    entries = {e.action: e for e in AuditEntry.objects.filter(team_id=team.pk)}
    assert entries["member.remove"].after == {"handed_to": "hal", "sessions_ended": 1}
    assert entries["member.handover"].after == {
        "handed_to": "hal",
        "collections": 1,
        "share_links": 1,
        "client_links": 1,
    }


def test_by_default_the_remover_receives_them(client, departing):
    team, owner, leaver, heir, result, _ = departing
    sign_in(client, owner, team)
    leaving = Membership.objects.get(team=team, user=leaver)

    client.post(reverse("member_remove", args=[leaving.pk]), **HTMX)

    assert Collection.objects.get(name="Lea's board").created_by == owner


def test_the_heir_must_be_another_member_of_this_team(client, departing):
    team, owner, leaver, heir, result, _ = departing
    sign_in(client, owner, team)
    leaving = Membership.objects.get(team=team, user=leaver)
    stranger = Membership.objects.get(user=make_user("stranger"))

    assert (
        client.post(
            reverse("member_remove", args=[leaving.pk]), {"heir": stranger.pk}, **HTMX
        ).status_code
        == 404
    )
    refused = client.post(reverse("member_remove", args=[leaving.pk]), {"heir": leaving.pk}, **HTMX)
    assert "Hand their work to another member" in refused.content.decode()
    assert Membership.objects.filter(pk=leaving.pk).exists()
    assert (
        client.post(reverse("member_remove", args=[leaving.pk]), {"heir": "x"}, **HTMX).status_code
        == 404
    )
