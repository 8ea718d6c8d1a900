"""Favourites and collections: from a tile's menu, the viewer, and a collection's own page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from studio.gallery.models import Collection, CollectionItem, Favourite
from studio.teams.models import Role
from tests.fixtures.factories import make_member, make_user

from .factories import make_collection, make_result, make_results, sign_in

HTMX = {"HTTP_HX_REQUEST": "true"}


def checked_names(html: str) -> list[str]:
    checked = r'<input type="checkbox" name="in" value="1" checked[^>]*>\s*<span>([^<]+)</span>'
    return re.findall(checked, html)


# --- favourites -------------------------------------------------------------------------------


def test_favourite_toggles_and_tells_other_stars(client_in, team, user):
    result = make_result(team, user)
    url = reverse("favourite_toggle", args=[result.pk])

    on = client_in.post(url, **HTMX)
    assert on.status_code == 200
    assert 'aria-pressed="true"' in on.content.decode()
    assert f'"gallery:favourite": {{"id": {result.pk}, "on": true}}' in on["HX-Trigger"]
    assert Favourite.objects.filter(user=user, result=result).exists()

    off = client_in.post(url, **HTMX)
    assert 'aria-pressed="false"' in off.content.decode()
    assert '"on": false' in off["HX-Trigger"]
    assert not Favourite.objects.exists()


def test_a_viewer_keeps_favourites_too(client, team, user):
    viewer = make_member(team, Role.VIEWER, "vi")
    result = make_result(team, user)
    sign_in(client, viewer, team)

    assert client.post(reverse("favourite_toggle", args=[result.pk]), **HTMX).status_code == 200
    assert Favourite.objects.get().user == viewer


# --- the add-to-collection menu ---------------------------------------------------------------


def test_the_menu_lists_the_teams_collections_with_ticks(client_in, team, user):
    result = make_result(team, user)
    make_collection(team, user, "Shortlist", results=[result])
    make_collection(team, user, "Archive")
    stranger = make_user("stranger")
    make_collection(stranger.teams.get(), stranger, "Not ours")

    html = client_in.get(reverse("result_collections", args=[result.pk]), **HTMX).content.decode()

    assert checked_names(html) == ["Shortlist"]
    assert "Archive" in html and "Not ours" not in html
    shortlist = Collection.objects.get(name="Shortlist")
    assert reverse("collection_remove", args=[shortlist.pk, result.pk]) in html


def test_add_and_remove_from_the_menu(client_in, team, user):
    result = make_result(team, user)
    board = make_collection(team, user, "Shortlist")

    added = client_in.post(reverse("collection_add", args=[board.pk, result.pk]), **HTMX)
    assert checked_names(added.content.decode()) == ["Shortlist"]
    assert CollectionItem.objects.get().added_by == user
    again = client_in.post(reverse("collection_add", args=[board.pk, result.pk]), **HTMX)
    assert again.status_code == 200 and CollectionItem.objects.count() == 1

    removed = client_in.post(reverse("collection_remove", args=[board.pk, result.pk]), **HTMX)
    assert checked_names(removed.content.decode()) == []
    assert not CollectionItem.objects.exists()


def test_a_new_collection_from_the_menu_holds_the_image(client_in, team, user):
    result = make_result(team, user)

    response = client_in.post(
        reverse("collection_create"), {"name": "Client picks", "result": result.pk}, **HTMX
    )

    assert checked_names(response.content.decode()) == ["Client picks"]
    board = Collection.objects.get()
    assert (board.team, board.created_by, list(board.results.all())) == (team, user, [result])


def test_collection_names_are_unique_in_a_team_whatever_the_case(client_in, team, user):
    result = make_result(team, user)
    make_collection(team, user, "Shortlist")

    response = client_in.post(
        reverse("collection_create"), {"name": "shortlist", "result": result.pk}, **HTMX
    )

    assert response.status_code == 200
    assert "There is already a collection called “shortlist”." in response.content.decode()
    assert Collection.objects.count() == 1
    # Another team may use the name.
    stranger = make_user("stranger")
    make_collection(stranger.teams.get(), stranger, "Shortlist")


def test_the_viewer_panel_has_favourite_collections_and_sharing(client_in, team, user):
    result = make_result(team, user)
    Favourite.objects.create(team=team, user=user, result=result)
    make_collection(team, user, "Shortlist", results=[result])

    html = client_in.get(reverse("result_organise", args=[result.pk]), **HTMX).content.decode()

    assert 'aria-pressed="true"' in html
    assert checked_names(html) == ["Shortlist"]
    assert reverse("result_share", args=[result.pk]) in html
    # The lightbox loads this panel from the viewer.
    viewer = client_in.get(reverse("result_detail", args=[result.pk]), **HTMX).content.decode()
    assert f'hx-get="{reverse("result_organise", args=[result.pk])}" hx-trigger="load"' in viewer


def test_a_viewer_gets_no_collection_controls(client, team, user):
    viewer = make_member(team, Role.VIEWER, "vi")
    result = make_result(team, user)
    board = make_collection(team, user)
    sign_in(client, viewer, team)

    panel = client.get(reverse("result_organise", args=[result.pk]), **HTMX).content.decode()
    gallery = client.get(reverse("gallery")).content.decode()

    assert "Favourite" in panel
    assert "New collection" not in panel and "Create share link" not in panel
    assert "tile__menu" not in gallery
    add = reverse("collection_add", args=[board.pk, result.pk])
    assert client.post(add, **HTMX).status_code == 403
    assert not CollectionItem.objects.exists()


# --- collection pages --------------------------------------------------------------------------


def test_the_collections_page_shows_covers_counts_and_a_create_form(client_in, team, user):
    first, chosen, last = make_results(team, user, 3)
    board = make_collection(team, user, "Moodboard", results=[first, chosen, last])
    empty = make_collection(team, user, "Empty one")

    html = client_in.get(reverse("collection_list")).content.decode()

    assert "3 images" in html and "0 images" in html
    # No cover chosen: the latest added image.
    assert reverse("result_media", args=[last.pk, "thumbnail"]) in html
    assert reverse("collection_detail", args=[empty.pk]) in html
    board.cover = chosen
    board.save()
    html = client_in.get(reverse("collection_list")).content.decode()
    assert reverse("result_media", args=[chosen.pk, "thumbnail"]) in html
    assert reverse("result_media", args=[last.pk, "thumbnail"]) not in html


def test_create_rename_cover_and_delete(client_in, team, user):
    a, b = make_results(team, user, 2)
    response = client_in.post(reverse("collection_create"), {"name": "Launch"})
    board = Collection.objects.get()
    assert response["Location"] == reverse("collection_detail", args=[board.pk])
    client_in.post(reverse("collection_add", args=[board.pk, a.pk]), **HTMX)
    client_in.post(reverse("collection_add", args=[board.pk, b.pk]), **HTMX)

    page = client_in.get(reverse("collection_detail", args=[board.pk])).content.decode()
    assert "<h1>Launch</h1>" in page and "2 images" in page
    assert re.findall(r'<figure class="tile" id="tile-(\d+)"', page) == [str(b.pk), str(a.pk)]

    client_in.post(reverse("collection_rename", args=[board.pk]), {"name": "Launch day"})
    cover = client_in.post(reverse("collection_cover", args=[board.pk, a.pk]), **HTMX)
    assert cover.status_code == 204
    board.refresh_from_db()
    assert (board.name, board.cover) == ("Launch day", a)

    outside = make_result(team, user)
    refused = client_in.post(reverse("collection_cover", args=[board.pk, outside.pk]), **HTMX)
    assert refused.status_code == 400

    response = client_in.post(reverse("collection_delete", args=[board.pk]))
    assert response["Location"] == reverse("collection_list")
    assert not Collection.objects.exists()
    assert client_in.get(reverse("result_detail", args=[a.pk])).status_code == 200  # images stay


def test_renaming_to_a_taken_name_is_explained(client_in, team, user):
    board = make_collection(team, user, "One")
    make_collection(team, user, "Two")

    response = client_in.post(reverse("collection_rename", args=[board.pk]), {"name": "Two"})

    assert response.status_code == 200
    assert "There is already a collection called “Two”." in response.content.decode()


def test_only_the_maker_or_an_admin_deletes_a_collection(client, team, user):
    board = make_collection(team, user, "Alice's")
    member = make_member(team, Role.MEMBER, "mo")
    admin = make_member(team, Role.ADMIN, "ada")

    sign_in(client, member, team)
    assert client.post(reverse("collection_delete", args=[board.pk])).status_code == 403
    page = client.get(reverse("collection_detail", args=[board.pk])).content.decode()
    assert "Delete collection" not in page
    sign_in(client, admin, team)
    assert client.post(reverse("collection_delete", args=[board.pk])).status_code == 302
    assert not Collection.objects.exists()


def test_a_long_collection_pages_like_the_gallery(client_in, team, user):
    from studio.gallery.selectors import PAGE_SIZE

    results = make_results(team, user, PAGE_SIZE + 2)
    board = make_collection(team, user, results=results)

    first = client_in.get(reverse("collection_detail", args=[board.pk])).content.decode()
    more = re.search(r'id="gallery-more"[^>]*hx-get="([^"]+)"', first)[1].replace("&amp;", "&")
    second = client_in.get(more, **HTMX, HTTP_HX_TARGET="gallery-more").content.decode()

    assert first.count('class="tile"') == PAGE_SIZE
    assert second.count('class="tile"') == 2 and "<html" not in second


@pytest.mark.parametrize("name", ["", "   "])
def test_a_collection_needs_a_name(client_in, name):
    response = client_in.post(reverse("collection_create"), {"name": name})
    assert response.status_code == 200
    assert "Give the collection a name." in response.content.decode()


@pytest.mark.parametrize("value", ["abc", "1.5", "-"])
def test_a_malformed_result_in_the_form_is_404(client_in, value):
    response = client_in.post(reverse("collection_create"), {"name": "X", "result": value}, **HTMX)
    assert response.status_code == 404
    assert not Collection.objects.exists()
