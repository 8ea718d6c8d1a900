"""Another team's object, asked for by id, is a 404: every URL of the project
that takes an id, GET or POST, page or HTMX fragment, media and downloads.

The URLs come from the URLconf itself: a new URL with an id fails
`test_every_url_with_an_id_is_covered` until it is described in ID_URLS below.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from django.utils import timezone

from studio.audit.models import AuditEntry
from studio.discussion.models import Comment, Notification, Rating
from studio.gallery.models import (
    ClientLink,
    ClientPick,
    Collection,
    CollectionItem,
    Favourite,
    ShareLink,
)
from studio.generations.models import Generation, Reference, Result, Status
from studio.teams.models import Invitation, Membership, Role
from tests.fixtures.factories import make_member, make_user
from tests.gallery.factories import (
    make_collection,
    make_result,
    make_share_link,
    sign_in,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


def _routes(patterns=None, prefix=""):
    """(name, route, converters) of every URL of the project but the admin (staff only)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield entry.name, prefix + str(entry.pattern), entry.pattern.converters


WITH_IDS = {
    name: (route, [k for k, c in converters.items() if isinstance(c, IntConverter)])
    for name, route, converters in _routes()
    if any(isinstance(c, IntConverter) for c in converters.values())
}

IN_THREE_DAYS = (timezone.now() + timezone.timedelta(days=3)).date().isoformat()

# For each URL with an id: the method, what each argument names, and the form data.
# Kinds are the objects of `world` below; other arguments are fixed strings.
ID_URLS = {
    # generations
    "generation_cancel": ("post", {"pk": "generation"}, {}),
    "generation_resubmit": ("post", {"pk": "generation"}, {}),
    "generation_remix": ("get", {"pk": "generation"}, {}),
    "result_detail": ("get", {"pk": "result"}, {}),
    "result_similar": ("get", {"pk": "result"}, {}),
    "result_reuse": ("post", {"pk": "result"}, {}),
    "result_variations": ("post", {"pk": "result"}, {}),
    "result_use_as_reference": ("post", {"pk": "result"}, {}),
    "result_derive": ("post", {"pk": "result", "tool": "upscale_image"}, {}),
    "generation_delete": ("post", {"pk": "generation"}, {}),
    "result_delete": ("post", {"pk": "result"}, {}),
    "generation_restore": ("post", {"pk": "trashed_generation"}, {}),
    "result_restore": ("post", {"pk": "trashed"}, {}),
    "trash_media": ("get", {"pk": "trashed"}, {}),
    # media
    "result_media": ("get", {"pk": "result", "kind": "original"}, {}),
    "reference_media": ("get", {"pk": "reference"}, {}),
    # gallery
    "favourite_toggle": ("post", {"pk": "result"}, {}),
    "result_organise": ("get", {"pk": "result"}, {}),
    "result_collections": ("get", {"pk": "result"}, {}),
    "result_share": ("post", {"pk": "result"}, {}),
    "collection_detail": ("get", {"pk": "collection"}, {}),
    "collection_rename": ("post", {"pk": "collection"}, {"name": "Renamed"}),
    "collection_delete": ("post", {"pk": "collection"}, {}),
    "collection_share": ("post", {"pk": "collection"}, {}),
    "collection_zip": ("get", {"pk": "collection"}, {}),
    "collection_add": ("post", {"pk": "collection", "result_pk": "spare"}, {}),
    "collection_remove": ("post", {"pk": "collection", "result_pk": "result"}, {}),
    "collection_cover": ("post", {"pk": "collection", "result_pk": "result"}, {}),
    "share_link_revoke": ("post", {"pk": "share_link"}, {}),
    # a share link's pages: the id must be something that link shows
    "shared_result": ("get", {"share_token": "token", "pk": "result"}, {}),
    "shared_media": ("get", {"share_token": "token", "pk": "result", "kind": "thumbnail"}, {}),
    # teams
    "team_switch": ("post", {"pk": "team"}, {}),
    "invitation_revoke": ("post", {"pk": "invitation"}, {}),
    "member_role": ("post", {"pk": "membership"}, {"role": "viewer"}),
    "member_limit": ("post", {"pk": "membership"}, {"monthly_image_limit": "1"}),
    "member_remove": ("post", {"pk": "membership"}, {}),
    "member_transfer": ("post", {"pk": "membership"}, {}),
    # discussion
    "result_discussion": ("get", {"pk": "result"}, {}),
    "comment_create": ("post", {"pk": "result"}, {"body": "hello @theirs-colleague"}),
    # seq -1: past the no-change answer (a 204 for any id, so it tells nothing either)
    "comment_updates": ("get", {"pk": "result"}, {"seq": "-1"}),
    "rating_set": ("post", {"pk": "result"}, {"stars": "3"}),
    "comment_edit": ("post", {"pk": "comment"}, {"body": "changed"}),
    "comment_remove": ("post", {"pk": "comment"}, {}),
    "notification_open": ("post", {"pk": "notification"}, {}),
    # client links (proofing)
    "collection_client_links": ("post", {"pk": "collection"}, {"expires_on": IN_THREE_DAYS}),
    "collection_client_activity": ("get", {"pk": "collection"}, {"seq": "-1"}),
    "client_link_revoke": ("post", {"pk": "client_link"}, {}),
    "client_pick": ("post", {"token": "client_token", "pk": "result"}, {"action": "favourite"}),
    "client_media": ("get", {"token": "client_token", "pk": "result", "kind": "preview"}, {}),
    # review
    "review_result_decide": ("post", {"pk": "result"}, {"decision": "reject", "reason": "x"}),
}

CASES = sorted((name, arg) for name, (_, args) in WITH_IDS.items() for arg in args)


def _world(owner, name: str):
    """A team with one of everything, owned by `owner` (its current team)."""
    team = owner.memberships.get().team
    team.name = name
    team.save()
    colleague = make_member(team, Role.MEMBER, f"{name}-colleague")
    result, spare = make_result(team, owner, prompt=f"{name} image"), make_result(team, owner)
    collection = make_collection(team, owner, f"{name} board", results=[result])
    reference = Reference.objects.create(
        team=team, image=result.image.name, sha256=f"{team.pk:064x}", content_type="image/png",
        width=64, height=36, bytes=100,
    )
    trashed = make_result(team, owner, prompt=f"{name} deleted image")
    Result.all_objects.filter(pk=trashed.pk).update(deleted_at=timezone.now())
    trashed_generation = make_result(team, owner, prompt=f"{name} deleted").generation
    Generation.objects.filter(pk=trashed_generation.pk).update(deleted_at=timezone.now())
    return SimpleNamespace(
        team=team,
        owner=owner,
        trashed=trashed,
        trashed_generation=trashed_generation,
        result=result,
        spare=spare,
        collection=collection,
        reference=reference,
        generation=Generation.objects.create(
            team=team, created_by=owner, prompt=f"{name} running", status=Status.RUNNING
        ),
        share_link=make_share_link(team, owner, collection=collection),
        invitation=Invitation.objects.create(
            team=team, created_by=owner, expires_at=timezone.now() + timezone.timedelta(days=1)
        ),
        membership=Membership.objects.get(team=team, user=colleague),
        comment=Comment.objects.create(
            team=team, result=result, author=owner, author_name=owner.username, body="mine"
        ),
        client_link=ClientLink.objects.create(
            team=team, collection=collection, created_by=owner,
            expires_at=timezone.now() + timezone.timedelta(days=1),
        ),
        rating=Rating.objects.create(team=team, result=result, user=owner, stars=4),
        notification=Notification.objects.create(
            team=team, user=owner, kind=Notification.Kind.MENTION, text=f"{name} news", url="/"
        ),
    )


@pytest.fixture
def worlds(db):
    mine = _world(make_user("attacker"), "mine")
    theirs = _world(make_user("victim"), "theirs")
    return mine, theirs


def _kwargs(name: str, mine, theirs, swapped: str | None) -> dict:
    _, arguments, _ = ID_URLS[name]
    kwargs = {}
    for arg, kind in arguments.items():
        world = theirs if arg == swapped else mine
        if kind == "token":
            kwargs[arg] = mine.share_link.token  # always a valid link of the asker's team
        elif kind == "client_token":
            kwargs[arg] = mine.client_link.token
        elif hasattr(world, kind):
            kwargs[arg] = getattr(world, kind).pk
        else:
            kwargs[arg] = kind
    return kwargs


def _snapshot(team) -> list:
    """Everything a request could change in a team, to check nothing did."""
    return [
        list(Generation.objects.filter(team=team).values_list("pk", "status", "prompt")),
        list(Result.objects.filter(team=team).values_list("pk", "review_state")),
        list(Reference.objects.filter(team=team).values_list("pk")),
        list(Collection.objects.filter(team=team).values_list("pk", "name", "cover")),
        list(CollectionItem.objects.filter(collection__team=team).values_list("pk")),
        list(Favourite.objects.values_list("pk")),
        list(ShareLink.objects.filter(team=team).values_list("pk", "revoked_at")),
        list(Invitation.objects.filter(team=team).values_list("pk", "revoked_at")),
        list(Membership.objects.filter(team=team).values_list("pk", "role")),
        AuditEntry.objects.filter(team_id=team.pk).count(),
        list(Comment.objects.filter(team=team).values_list("pk", "body", "removed_at")),
        list(Rating.objects.filter(team=team).values_list("pk", "stars")),
        list(ClientLink.objects.filter(team=team).values_list("pk", "revoked_at")),
        list(ClientPick.objects.filter(team=team).values_list("pk", "favourite")),
        list(Notification.objects.filter(team=team).values_list("pk", "read_at")),
    ]


def test_every_url_with_an_id_is_covered():
    missing = set(WITH_IDS) - set(ID_URLS)
    assert not missing, f"Describe these URLs in ID_URLS (what their ids name): {missing}"
    assert not set(ID_URLS) - set(WITH_IDS), "ID_URLS lists URLs that no longer exist"
    for name, (route, args) in WITH_IDS.items():
        assert set(args) <= set(ID_URLS[name][1]), (name, route)


@pytest.mark.parametrize(("name", "argument"), CASES)
def test_another_teams_id_is_404(client, worlds, name, argument):
    mine, theirs = worlds
    method, _, data = ID_URLS[name]
    sign_in(client, mine.owner, mine.team)
    before = _snapshot(theirs.team)
    url = reverse(name, kwargs=_kwargs(name, mine, theirs, swapped=argument))

    for headers in ({}, HTMX):  # a page and an HTMX fragment alike
        response = getattr(client, method)(url, data, **headers)
        assert response.status_code == 404, (name, argument, response.status_code)
        if method == "post":
            assert "theirs" not in response.content.decode()

    assert _snapshot(theirs.team) == before

    # The same URL with the asker's own ids works: the 404 came from the team, not the URL.
    own = reverse(name, kwargs=_kwargs(name, mine, theirs, swapped=None))
    response = getattr(client, method)(own, data, **HTMX)
    assert response.status_code != 404, (name, own)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("results_zip", lambda w: {"ids": [w.result.pk]}),
        ("gallery", lambda w: {"collection": w.collection.pk}),
    ],
)
def test_ids_in_the_query_string_too(client, worlds, path, query):
    mine, theirs = worlds
    sign_in(client, mine.owner, mine.team)

    assert client.get(reverse(path), query(theirs)).status_code == 404
    assert client.get(reverse(path), query(mine)).status_code == 200


def test_another_teams_id_in_a_form_is_404(client, worlds):
    """"New collection" from a result's menu names the result in the form."""
    mine, theirs = worlds
    sign_in(client, mine.owner, mine.team)

    response = client.post(
        reverse("collection_create"), {"name": "Sneaky", "result": theirs.result.pk}, **HTMX
    )

    assert response.status_code == 404
    assert not Collection.objects.filter(name="Sneaky").exists()


def test_the_bulk_review_never_decides_another_teams_images(client, worlds):
    """The review queue's bulk form takes ids too: another team's are never decided."""
    mine, theirs = worlds
    sign_in(client, mine.owner, mine.team)

    client.post(reverse("review_decide"), {"ids": [theirs.result.pk], "decision": "reject",
                                          "reason": "x"}, **HTMX)

    theirs.result.refresh_from_db()
    assert theirs.result.review_state == Result.ReviewState.PENDING


def test_the_case_list_is_not_empty():
    assert len(CASES) >= 30
    assert re.match(r"^\w+$", CASES[0][1])
