"""What each role may and may not do, through the same HTTP requests the pages make.

Owners and admins run the team; members make and organise; viewers look,
download and keep their own favourites. A refusal is a 403 and changes nothing.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import reverse

from studio.gallery.models import Collection, CollectionItem, Favourite, ShareLink
from studio.generations.models import Generation, Status
from studio.teams.models import Invitation, Membership, Role, Team
from tests.fixtures.factories import make_member
from tests.gallery.factories import (
    make_collection,
    make_result,
    make_share_link,
    sign_in,
)

HTMX = {"HTTP_HX_REQUEST": "true"}
EVERYONE = {"owner", "admin", "member", "viewer"}
MAKERS = {"owner", "admin", "member"}
RUNNERS = {"owner", "admin"}


@pytest.fixture
def world(team, user):
    """A team with one person in each role, and things made by another member (Otto)."""
    people = {
        "owner": user,
        "admin": make_member(team, Role.ADMIN, "ada"),
        "member": make_member(team, Role.MEMBER, "mo"),
        "viewer": make_member(team, Role.VIEWER, "vi"),
    }
    otto = make_member(team, Role.MEMBER, "otto")
    result, spare = make_result(team, otto, prompt="otto's image"), make_result(team, otto)
    collection = make_collection(team, otto, "Otto's board", results=[result])
    return SimpleNamespace(
        team=team,
        people=people,
        otto=Membership.objects.get(team=team, user=otto),
        result=result,
        spare=spare,
        collection=collection,
        link=make_share_link(team, otto, collection=collection),
        running=Generation.objects.create(
            team=team, created_by=otto, prompt="in progress", status=Status.RUNNING
        ),
    )


# action: (request, did it happen?)
ACTIONS = {
    "see the gallery": (
        lambda c, w: c.get(reverse("gallery")),
        lambda w, me: True,
    ),
    "see an image": (
        lambda c, w: c.get(reverse("result_media", args=[w.result.pk, "thumbnail"])),
        lambda w, me: True,
    ),
    "open the viewer": (
        lambda c, w: c.get(reverse("result_detail", args=[w.result.pk]), **HTMX),
        lambda w, me: True,
    ),
    "download a zip": (
        lambda c, w: c.get(reverse("results_zip"), {"ids": [w.result.pk]}),
        lambda w, me: True,
    ),
    "keep a favourite": (
        lambda c, w: c.post(reverse("favourite_toggle", args=[w.result.pk]), **HTMX),
        lambda w, me: Favourite.objects.filter(user=me, result=w.result).exists(),
    ),
    "generate": (
        lambda c, w: c.post(reverse("generation_create"), {
            "prompt": "a role test", "aspect_ratio": "1:1", "num_results": 1,
            "watermark_mode": "AUTO"}, **HTMX),
        lambda w, me: Generation.objects.filter(prompt="a role test", created_by=me).exists(),
    ),
    "cancel a generation": (
        lambda c, w: c.post(reverse("generation_cancel", args=[w.running.pk]), **HTMX),
        lambda w, me: Generation.objects.get(pk=w.running.pk).status == Status.CANCELLED,
    ),
    "make a collection": (
        lambda c, w: c.post(reverse("collection_create"), {"name": "Mine"}),
        lambda w, me: Collection.objects.filter(name="Mine", created_by=me).exists(),
    ),
    "add to a collection": (
        lambda c, w: c.post(reverse("collection_add", args=[w.collection.pk, w.spare.pk]), **HTMX),
        lambda w, me: CollectionItem.objects.filter(result=w.spare).exists(),
    ),
    "take out of a collection": (
        lambda c, w: c.post(
            reverse("collection_remove", args=[w.collection.pk, w.result.pk]), **HTMX
        ),
        lambda w, me: not CollectionItem.objects.filter(result=w.result).exists(),
    ),
    "delete someone else's collection": (
        lambda c, w: c.post(reverse("collection_delete", args=[w.collection.pk])),
        lambda w, me: not Collection.objects.filter(pk=w.collection.pk).exists(),
    ),
    "make a share link": (
        lambda c, w: c.post(reverse("collection_share", args=[w.collection.pk]), **HTMX),
        lambda w, me: ShareLink.objects.filter(created_by=me).exists(),
    ),
    "revoke someone else's share link": (
        lambda c, w: c.post(reverse("share_link_revoke", args=[w.link.pk]), **HTMX),
        lambda w, me: not ShareLink.objects.get(pk=w.link.pk).is_active,
    ),
    "invite someone": (
        lambda c, w: c.post(reverse("invitation_create"), {"role": "viewer", "expires_in": "7"},
                            **HTMX),
        lambda w, me: Invitation.objects.filter(created_by=me).exists(),
    ),
    "change a member's role": (
        lambda c, w: c.post(reverse("member_role", args=[w.otto.pk]), {"role": "viewer"}, **HTMX),
        lambda w, me: Membership.objects.get(pk=w.otto.pk).role == Role.VIEWER,
    ),
    "remove a member": (
        lambda c, w: c.post(reverse("member_remove", args=[w.otto.pk]), **HTMX),
        lambda w, me: not Membership.objects.filter(pk=w.otto.pk).exists(),
    ),
    "rename the team": (
        lambda c, w: c.post(reverse("team_rename"), {"name": "Renamed"}),
        lambda w, me: Team.objects.get(pk=w.team.pk).name == "Renamed",
    ),
    "transfer ownership": (
        lambda c, w: c.post(reverse("member_transfer", args=[w.otto.pk])),
        lambda w, me: Membership.objects.get(pk=w.otto.pk).role == Role.OWNER,
    ),
}

ALLOWED = {
    "see the gallery": EVERYONE,
    "see an image": EVERYONE,
    "open the viewer": EVERYONE,
    "download a zip": EVERYONE,
    "keep a favourite": EVERYONE,
    "generate": MAKERS,
    "cancel a generation": MAKERS,
    "make a collection": MAKERS,
    "add to a collection": MAKERS,
    "take out of a collection": MAKERS,
    "delete someone else's collection": RUNNERS,
    "make a share link": MAKERS,
    "revoke someone else's share link": RUNNERS,
    "invite someone": RUNNERS,
    "change a member's role": RUNNERS,
    "remove a member": RUNNERS,
    "rename the team": RUNNERS,
    "transfer ownership": {"owner"},
}


def test_every_action_has_an_expectation():
    assert set(ACTIONS) == set(ALLOWED)


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_role_may_or_may_not(client, world, role, action):
    me = world.people[role]
    sign_in(client, me, world.team)
    send, happened = ACTIONS[action]

    response = send(client, world)

    if role in ALLOWED[action]:
        assert response.status_code in (200, 204, 302), (role, action, response.status_code)
        assert happened(world, me), f"{role} should be able to {action}"
    else:
        assert response.status_code == 403, (role, action, response.status_code)
        assert not happened(world, me), f"{role} must not be able to {action}"
