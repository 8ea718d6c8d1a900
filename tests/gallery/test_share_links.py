"""Share links: a read-only page for people outside the team, without signing
in; optional expiry; revoked at once (page and media)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from studio.gallery.models import ShareLink
from studio.generations.models import Result
from studio.teams.models import Role, TeamPolicy
from tests.fixtures.factories import make_member

from .factories import (
    make_collection,
    make_result,
    make_results,
    make_share_link,
    sign_in,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


def media(link, result, kind="thumbnail"):
    return reverse("shared_media", args=[link.token, result.pk, kind])


def shared_page(link, result):
    return reverse("shared_result", args=[link.token, result.pk])


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def board(team, user):
    results = make_results(team, user, 3, prompt="harbour lights")
    return make_collection(team, user, "Client review", results=results), results


def test_a_member_makes_a_link_to_a_collection(client_in, team, user, board):
    collection, _ = board

    response = client_in.post(
        reverse("collection_share", args=[collection.pk]), {"expires_in": "7"}, **HTMX
    )

    link = ShareLink.objects.get()
    assert (link.team, link.collection, link.result) == (team, collection, None)
    assert link.created_by == user
    assert len(link.token) >= 43
    assert timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= timedelta(days=7)
    html = response.content.decode()
    assert f"http://testserver/s/{link.token}/" in html
    assert "Share link created" in html


def test_a_link_to_one_image_from_the_viewer(client_in, team, user):
    result = make_result(team, user)

    client_in.post(reverse("result_share", args=[result.pk]), {"expires_in": ""}, **HTMX)

    link = ShareLink.objects.get()
    assert (link.result, link.collection, link.expires_at) == (result, None, None)


def test_a_signed_out_visitor_sees_the_collection_read_only(team, user, board):
    collection, results = board
    link = make_share_link(team, user, collection=collection)
    visitor = Client()

    response = visitor.get(reverse("shared", args=[link.token]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Client review</h1>" in html
    for result in results:
        assert media(link, result) in html
        assert reverse("shared_result", args=[link.token, result.pk]) in html
    # Nothing that changes anything, and no member URLs.
    assert "favourite" not in html and "/media/results/" not in html and "hx-post" not in html
    assert response["Cache-Control"] == "no-store"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    image = visitor.get(media(link, results[0]))
    assert image.status_code == 200 and image["Cache-Control"] == "no-store"
    assert body(image)[:4] == b"RIFF"  # the WebP thumbnail
    page = visitor.get(reverse("shared_result", args=[link.token, results[0].pk]))
    assert page.status_code == 200
    assert media(link, results[0], "original") + "?download=1" in page.content.decode()


def test_a_link_shows_only_what_it_names(team, user, board):
    collection, results = board
    outside = make_result(team, user, prompt="not shared")
    link = make_share_link(team, user, collection=collection)
    single = make_share_link(team, user, result=results[0])
    visitor = Client()

    assert "not shared" not in visitor.get(reverse("shared", args=[link.token])).content.decode()
    assert visitor.get(reverse("shared_result", args=[link.token, outside.pk])).status_code == 404
    assert visitor.get(media(link, outside)).status_code == 404
    assert visitor.get(media(single, results[1])).status_code == 404
    assert visitor.get(shared_page(single, results[1])).status_code == 404
    assert visitor.get(media(single, results[0], "original")).status_code == 200
    # Member media URLs stay members-only.
    response = visitor.get(reverse("result_media", args=[results[0].pk, "thumbnail"]))
    assert response.status_code == 302


def test_revoking_stops_page_and_media_at_once(client_in, team, user, board):
    collection, results = board
    link = make_share_link(team, user, collection=collection)
    visitor = Client()
    assert visitor.get(media(link, results[0])).status_code == 200

    response = client_in.post(reverse("share_link_revoke", args=[link.pk]), **HTMX)

    assert response.status_code == 200 and "Revoked" in response.content.decode()
    gone = visitor.get(reverse("shared", args=[link.token]))
    assert gone.status_code == 404
    assert "This link is not available" in gone.content.decode()
    assert visitor.get(media(link, results[0])).status_code == 404
    assert visitor.get(shared_page(link, results[0])).status_code == 404
    # Members too: on the link's URLs only the link decides.
    assert client_in.get(media(link, results[0])).status_code == 404


def test_an_expired_link_stops_working(team, user, board):
    collection, results = board
    link = make_share_link(
        team, user, collection=collection, expires_at=timezone.now() + timedelta(hours=1)
    )
    visitor = Client()
    assert visitor.get(reverse("shared", args=[link.token])).status_code == 200

    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert visitor.get(reverse("shared", args=[link.token])).status_code == 404
    assert visitor.get(media(link, results[0])).status_code == 404


def test_an_image_taken_out_of_the_collection_is_no_longer_shared(client_in, team, user, board):
    collection, results = board
    link = make_share_link(team, user, collection=collection)

    client_in.post(reverse("collection_remove", args=[collection.pk, results[0].pk]), **HTMX)

    assert Client().get(media(link, results[0])).status_code == 404
    assert Client().get(media(link, results[1])).status_code == 200


def test_deleting_the_collection_ends_its_links(client_in, team, user, board):
    collection, _ = board
    link = make_share_link(team, user, collection=collection)

    client_in.post(reverse("collection_delete", args=[collection.pk]))

    assert Client().get(reverse("shared", args=[link.token])).status_code == 404


def test_a_link_shows_what_a_viewer_would_see(team, user, board):
    """With approval required, images still awaiting review stay hidden (review app's rule)."""
    collection, results = board
    Result.objects.filter(pk=results[0].pk).update(review_state=Result.ReviewState.APPROVED)
    TeamPolicy.objects.create(team=team, require_approval=True)
    link = make_share_link(team, user, collection=collection)
    visitor = Client()

    html = visitor.get(reverse("shared", args=[link.token])).content.decode()

    assert re.findall(r'id="tile-(\d+)"', html) == [str(results[0].pk)]
    assert visitor.get(media(link, results[1])).status_code == 404
    assert visitor.get(shared_page(link, results[1])).status_code == 404


@pytest.mark.parametrize("token", ["nope", "x" * 43])
def test_unknown_tokens_are_404(client, db, token):
    assert client.get(reverse("shared", args=[token])).status_code == 404


def test_the_share_links_page_lists_every_link_with_its_state(client_in, team, user, board):
    collection, results = board
    active = make_share_link(team, user, collection=collection)
    revoked = make_share_link(team, user, result=results[0], revoked_at=timezone.now())
    expired = make_share_link(
        team, user, result=results[1], expires_at=timezone.now() - timedelta(days=1)
    )

    html = client_in.get(reverse("share_link_list")).content.decode()

    for link, state in ((active, "active"), (revoked, "revoked"), (expired, "expired")):
        assert f'class="share-link share-link--{state}" id="share-link-{link.pk}"' in html
    assert reverse("share_link_revoke", args=[active.pk]) in html
    assert reverse("share_link_revoke", args=[revoked.pk]) not in html
    assert "Collection “Client review”" in html


def test_who_may_make_and_revoke_links(client, team, user, board):
    collection, _ = board
    link = make_share_link(team, user, collection=collection)
    member, viewer = make_member(team, Role.MEMBER, "mo"), make_member(team, Role.VIEWER, "vi")

    sign_in(client, viewer, team)
    assert client.post(reverse("collection_share", args=[collection.pk]), **HTMX).status_code == 403
    sign_in(client, member, team)
    assert client.post(reverse("share_link_revoke", args=[link.pk]), **HTMX).status_code == 403
    own = client.post(reverse("collection_share", args=[collection.pk]), **HTMX)
    assert own.status_code == 200
    mine = ShareLink.objects.get(created_by=member)
    assert client.post(reverse("share_link_revoke", args=[mine.pk]), **HTMX).status_code == 200
    link.refresh_from_db()
    assert link.is_active and not ShareLink.objects.get(pk=mine.pk).is_active


def test_a_shared_collection_pages_for_visitors(team, user):
    from studio.gallery.selectors import PAGE_SIZE

    results = make_results(team, user, PAGE_SIZE + 1)
    link = make_share_link(team, user, collection=make_collection(team, user, results=results))
    visitor = Client()

    first = visitor.get(reverse("shared", args=[link.token])).content.decode()
    more = re.search(r'id="gallery-more"[^>]*hx-get="([^"]+)"', first)[1].replace("&amp;", "&")
    second = visitor.get(more, **HTMX, HTTP_HX_TARGET="gallery-more")

    assert first.count('class="tile tile--shared"') == PAGE_SIZE
    assert second.status_code == 200 and second.content.decode().count("tile--shared") == 1


def test_a_link_to_one_image_shows_that_image(team, user):
    result = make_result(team, user, prompt="just this one")
    link = make_share_link(team, user, result=result)

    response = Client().get(reverse("shared", args=[link.token]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Shared image</h1>" in html and "just this one" in html
    assert media(link, result, "original") in html
    assert response["Cache-Control"] == "no-store"
