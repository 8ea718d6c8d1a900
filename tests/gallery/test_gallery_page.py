"""The gallery page: everyone's results, newest first, filters that combine,
keyset pages for infinite scroll, and the fragments HTMX asks for."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from studio.gallery.models import Favourite
from studio.gallery.selectors import PAGE_SIZE, Cursor
from studio.generations.models import Result, Status, Tool
from studio.generations.services import generation_create
from studio.teams.models import Role
from tests.fixtures.factories import make_member, make_user

from .factories import make_collection, make_edit, make_result, make_results

URL = reverse("gallery")
HTMX = {"HTTP_HX_REQUEST": "true"}


def tile_ids(response) -> list[int]:
    html = response.content.decode()
    return [int(i) for i in re.findall(r'<figure class="tile" id="tile-(\d+)"', html)]


def more_url(response) -> str | None:
    match = re.search(r'id="gallery-more"[^>]*hx-get="([^"]+)"', response.content.decode())
    return match[1].replace("&amp;", "&") if match else None


@pytest.fixture
def bob(team):
    return make_member(team, Role.MEMBER, "bob")


def test_everyones_results_newest_first_and_nothing_from_another_team(client_in, team, user, bob):
    old = make_result(team, user, prompt="first light", created_at=datetime(2025, 1, 1, tzinfo=UTC))
    mine = make_results(team, user, 2, prompt="a red door")
    theirs = make_result(team, bob, prompt="a blue boat")
    stranger = make_user("stranger")
    make_result(stranger.teams.get(), stranger, prompt="secret plans")

    response = client_in.get(URL)

    assert response.status_code == 200
    assert tile_ids(response) == [theirs.pk, mine[1].pk, mine[0].pk, old.pk]
    html = response.content.decode()
    assert "secret plans" not in html
    assert ">bob · " in html  # whose image it is
    assert reverse("result_media", args=[theirs.pk, "thumbnail"]) in html
    assert f'data-lightbox-id="{theirs.pk}"' in html  # opens in the viewer
    assert "data-lightbox-group" in html


def test_results_not_stored_yet_are_not_shown(client_in, team, user):
    stored = make_result(team, user)
    waiting = make_result(team, user)
    Result.objects.filter(pk=waiting.pk).update(thumbnail="")

    assert tile_ids(client_in.get(URL)) == [stored.pk]


def test_filters_combine(client_in, team, user, bob):
    day = datetime(2025, 6, 10, 12, tzinfo=UTC)
    target = make_result(team, bob, prompt="lighthouse in fog", aspect_ratio="1:1", created_at=day)
    make_result(team, user, prompt="lighthouse in fog", aspect_ratio="1:1",
                created_at=day)  # member
    make_result(team, bob, prompt="lighthouse in fog", aspect_ratio="16:9", created_at=day)  # shape
    make_result(team, bob, prompt="lighthouse in fog", aspect_ratio="1:1",
                created_at=day - timedelta(days=3))  # date
    make_result(team, bob, prompt="a meadow", aspect_ratio="1:1", created_at=day)  # words
    make_result(team, bob, prompt="lighthouse in fog", aspect_ratio="1:1", created_at=day,
                status=Status.FAILED)  # status

    response = client_in.get(URL, {
        "q": "lighthouse", "member": bob.pk, "aspect_ratio": "1:1", "status": "succeeded",
        "date_from": "2025-06-09", "date_to": "2025-06-10",
    })

    assert tile_ids(response) == [target.pk]
    html = response.content.decode()
    assert 'value="lighthouse"' in html  # the form keeps what was asked
    assert f'<option value="{bob.pk}" selected>bob</option>' in html


def test_each_filter_narrows(client_in, team, user, bob):
    a = make_result(team, user, prompt="square cat", aspect_ratio="1:1")
    b = make_result(team, bob, prompt="wide dog", aspect_ratio="16:9")
    c = make_result(team, bob, prompt="a failed one", status=Status.FAILED)
    derived = make_result(team, bob, prompt="upscaled")
    derived.generation.tool = Tool.UPSCALE_IMAGE
    derived.generation.save()

    def ids(**query):
        return set(tile_ids(client_in.get(URL, query)))

    assert ids(member=user.pk) == {a.pk}
    assert ids(aspect_ratio="16:9") == {b.pk, c.pk, derived.pk}
    assert ids(status="failed") == {c.pk}
    assert ids(tool="upscale_image") == {derived.pk}
    assert ids(q="dog") == {b.pk}
    assert ids() == {a.pk, b.pk, c.pk, derived.pk}


def test_date_range_is_inclusive_of_whole_days(client_in, team, user):
    early = make_result(team, user, created_at=datetime(2025, 3, 1, 0, 0, tzinfo=UTC))
    late = make_result(team, user, created_at=datetime(2025, 3, 2, 23, 59, 59, tzinfo=UTC))
    make_result(team, user, created_at=datetime(2025, 3, 3, 0, 0, tzinfo=UTC))
    make_result(team, user, created_at=datetime(2025, 2, 28, 23, 59, tzinfo=UTC))

    response = client_in.get(URL, {"date_from": "2025-03-01", "date_to": "2025-03-02"})

    assert tile_ids(response) == [late.pk, early.pk]


def test_an_end_date_before_the_start_is_explained_and_ignored(client_in, team, user):
    make_result(team, user)

    response = client_in.get(URL, {"date_from": "2025-03-05", "date_to": "2025-03-01"})

    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    assert len(tile_ids(response)) == 1


def test_favourites_are_per_person(client_in, team, user, bob):
    liked, other = make_result(team, user), make_result(team, user)
    Favourite.objects.create(team=team, user=user, result=liked)
    Favourite.objects.create(team=team, user=bob, result=other)

    response = client_in.get(URL, {"favourites": "on"})

    assert tile_ids(response) == [liked.pk]
    assert f'aria-pressed="true" data-favourite-for="{liked.pk}"' in response.content.decode()


def test_collection_filter_and_another_teams_collection_is_404(client_in, team, user):
    inside, _ = make_result(team, user), make_result(team, user)
    board = make_collection(team, user, results=[inside])
    stranger = make_user("stranger")
    theirs = make_collection(stranger.teams.get(), stranger, name="Theirs")

    assert tile_ids(client_in.get(URL, {"collection": board.pk})) == [inside.pk]
    assert client_in.get(URL, {"collection": theirs.pk}).status_code == 404
    html = client_in.get(URL).content.decode()
    assert "Moodboard" in html and "Theirs" not in html  # the filter's choices


def test_someone_outside_the_team_is_not_a_member_filter(client_in, team, user):
    make_result(team, user)
    stranger = make_user("stranger")

    response = client_in.get(URL, {"member": stranger.pk})

    assert "That person is not in this team." in response.content.decode()
    assert "stranger" not in re.sub(r"That person.*?team\.", "", response.content.decode())


# --- pages --------------------------------------------------------------------------------


def test_keyset_pages_cover_everything_once_in_order(client, team, user):
    client.force_login(user)
    total = PAGE_SIZE * 2 + 5
    results = make_results(team, user, total)
    # Ties on created_at are broken by id, newest first.
    same = datetime(2025, 5, 5, tzinfo=UTC)
    Result.objects.filter(pk__in=[r.pk for r in results[10:60]]).update(created_at=same)
    expected = list(
        Result.objects.filter(team=team).order_by("-created_at", "-pk").values_list("pk", flat=True)
    )

    seen, url, pages = [], URL, 0
    while url:
        headers = {**HTMX, "HTTP_HX_TARGET": "gallery-more"} if pages else {}
        response = client.get(url, **headers)
        assert response.status_code == 200
        seen += tile_ids(response)
        url = more_url(response)
        pages += 1

    assert pages == 3
    assert seen == expected
    assert "That is all of them." in response.content.decode()


def test_load_more_keeps_the_filters(client_in, team, user):
    make_results(team, user, PAGE_SIZE + 3, prompt="kept filter")
    make_results(team, user, 5, prompt="something else")

    first = client_in.get(URL, {"q": "kept"})
    url = more_url(first)
    assert "q=kept" in url and "cursor=" in url
    second = client_in.get(url, **HTMX, HTTP_HX_TARGET="gallery-more")

    assert len(tile_ids(first)) == PAGE_SIZE
    assert len(tile_ids(second)) == 3
    assert more_url(second) is None


def test_fragments_for_htmx_and_the_whole_page_for_a_history_restore(client_in, team, user):
    make_results(team, user, PAGE_SIZE + 1)
    first = client_in.get(URL)
    next_url = more_url(first)

    more = client_in.get(next_url, **HTMX, HTTP_HX_TARGET="gallery-more").content.decode()
    results = client_in.get(URL, {"q": "harbour"}, **HTMX, HTTP_HX_TARGET="gallery-results")
    restore = client_in.get(
        URL, {"q": "harbour"}, **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true",
        HTTP_HX_TARGET="gallery-results",
    ).content.decode()

    assert "<html" not in more and more.lstrip().startswith("<figure")
    assert 'id="gallery-filters"' not in more
    html = results.content.decode()
    assert html.lstrip().startswith('<section id="gallery-results"') and "<html" not in html
    assert "<html" in restore and 'id="gallery-filters"' in restore
    # The filter form pushes its URL, so the back button and shared links work.
    assert 'hx-push-url="true"' in first.content.decode()


@pytest.mark.parametrize("cursor", ["abc", "12", "1-2-3", "-1-5"])
def test_a_cursor_this_code_did_not_write_is_refused(client_in, cursor):
    assert client_in.get(URL, {"cursor": cursor}).status_code == 400


def test_page_cost_is_flat_in_queries(client_in, team, user, django_assert_max_num_queries):
    # Counted at once: captured_queries is a window on the connection's log.
    make_results(team, user, 3)
    client_in.get(URL)  # the session learns its team
    with django_assert_max_num_queries(20) as context:
        client_in.get(URL)
    small = len(context.captured_queries)
    make_results(team, user, PAGE_SIZE * 3)
    with django_assert_max_num_queries(20) as context:
        first = client_in.get(URL)
    large = len(context.captured_queries)
    third = more_url(client_in.get(more_url(first), **HTMX, HTTP_HX_TARGET="gallery-more"))
    with django_assert_max_num_queries(20) as context:
        assert len(tile_ids(client_in.get(third, **HTMX, HTTP_HX_TARGET="gallery-more"))) == 48
    deep = len(context.captured_queries)

    assert large == small
    # A fragment skips the page's filter choices and header.
    assert deep < large


def _stack(html: str, pk: int) -> str:
    start = html.index(f'<div class="stack" id="stack-{pk}"')
    return html[start : html.index("</ul>", start)]


def test_edits_stack_under_their_source_for_one_query_per_page(
    client_in, team, user, bob, django_assert_max_num_queries
):
    source = make_result(team, user, prompt="a lighthouse")
    upscale = make_edit(source, bob)[0]
    cutout = make_edit(upscale, user, Tool.REMOVE_IMAGE_BACKGROUND)[0]  # an edit of the edit
    variations = make_edit(source, user, Tool.GENERATE_IMAGE, count=2)
    other = make_result(team, user, prompt="a harbour")  # newer than every edit
    client_in.get(URL)
    make_results(team, user, 3, aspect_ratio="1:1")
    # Counted at once: captured_queries is a window on the connection's log.
    with django_assert_max_num_queries(20) as context:
        client_in.get(URL, {"aspect_ratio": "1:1"})  # nothing to stack
    plain = len(context.captured_queries)
    with django_assert_max_num_queries(20) as context:
        html = client_in.get(URL).content.decode()
    stacked = len(context.captured_queries)

    # The source is one tile; its edits sit under it with their badges, in order.
    assert tile_ids(client_in.get(URL))[-2:] == [other.pk, source.pk]  # 3 newer 1:1 first
    stack = _stack(html, source.pk)
    assert [int(i) for i in re.findall(r'data-thumb="(\d+)"', stack)] == [
        upscale.pk, cutout.pk, *(v.pk for v in variations)
    ]
    badges = re.findall(r'<span class="edit__badge">([^<]+)</span>', stack)
    assert badges == ["Upscale", "Remove background", "Variations"]
    # Each is in the viewer's sequence and the gallery's selection.
    assert f'data-lightbox-id="{cutout.pk}"' in stack
    assert f'value="{cutout.pk}" form="gallery-selection"' in stack
    # One query more for the page's edits, however many; none for a page without.
    # One query for the whole page's edits, whether it has any or not (no per-row EXISTS:
    # PostgreSQL hashed every generation of the database for it).
    assert stacked == plain

    # Narrowed to what single images are (their tool), each edit is a tile again.
    assert set(tile_ids(client_in.get(URL, {"tool": "upscale_image"}))) == {upscale.pk}
    # Its source in the Trash: the upscale stands as a tile, its cut-out under it.
    Result.objects.filter(pk=source.pk).update(deleted_at=source.created_at)
    html = client_in.get(URL).content.decode()
    assert upscale.pk in tile_ids(client_in.get(URL))
    assert f'data-thumb="{cutout.pk}"' in _stack(html, upscale.pk)


def test_empty_gallery_and_empty_filters_say_so(client_in, team, user):
    assert "No images yet." in client_in.get(URL).content.decode()
    make_result(team, user, prompt="cat")
    assert "No images match these filters." in client_in.get(URL, {"q": "zebra"}).content.decode()


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- new images while the page is open -------------------------------------------------------

NEWS = reverse("gallery_news")


def _news_poller(html: str) -> dict:
    match = re.search(r'id="gallery-news"[^>]*hx-get="([^"]+)"', html)
    url = match[1].replace("&amp;", "&")
    return dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))


def test_the_page_polls_for_news_from_its_newest_image(client_in, team, user):
    newest = make_results(team, user, 2)[-1]
    team.refresh_from_db()

    params = _news_poller(client_in.get(URL).content.decode())

    assert params["seq"] == str(team.change_seq)
    newest.refresh_from_db()
    assert params["after"] == str(Cursor.after(newest))


def test_no_change_is_a_204_for_three_queries(client_in, team, user, django_assert_num_queries):
    make_results(team, user, 2)
    params = _news_poller(client_in.get(URL).content.decode())
    with django_assert_num_queries(3):  # session, user, membership with the team's counter
        assert client_in.get(NEWS, params, **HTMX).status_code == 204


def test_a_teammates_new_image_is_announced(client_in, team, user, bob):
    make_result(team, user)
    params = _news_poller(client_in.get(URL).content.decode())

    # A new generation bumps the team's counter.
    generation = generation_create(team=team, user=bob, prompt="fresh from bob")
    quiet = client_in.get(NEWS, params, **HTMX).content.decode()
    assert "New images have landed" not in quiet  # in flight: nothing to show yet
    assert _news_poller(quiet)["seq"] != params["seq"]

    make_result(team, bob, prompt="fresh from bob")
    generation.touch(ingested_at=generation.created_at)
    news = client_in.get(NEWS, _news_poller(quiet), **HTMX).content.decode()

    assert "New images have landed" in news
    # It keeps asking, so images deleted meanwhile still leave the page.
    assert 'hx-trigger="every 2s, sse:change"' in news
    assert _news_poller(news)["seq"] != _news_poller(quiet)["seq"]


def test_images_moved_to_the_trash_leave_an_open_gallery_at_the_next_poll(
    client_in, team, user, bob, django_assert_max_num_queries
):
    kept, gone = make_results(team, user, 2)
    whole = make_results(team, bob, 2, prompt="a whole generation")
    make_results(team, user, 300)  # the gallery's size does not matter
    params = _news_poller(client_in.get(URL).content.decode())

    Result.objects.filter(pk=gone.pk).update(deleted_at=gone.created_at)
    gone.generation.touch()
    whole[0].generation.touch(deleted_at=whole[0].created_at)
    with django_assert_max_num_queries(8):
        response = client_in.get(NEWS, params, **HTMX)

    ids = json.loads(response["HX-Trigger"])["gallery:deleted"]["ids"]
    assert sorted(ids) == sorted([gone.pk, *(r.pk for r in whole)])  # not `kept`
    # Nothing changed since: a 204, whatever the size.
    again = _news_poller(response.content.decode())
    assert client_in.get(NEWS, again, **HTMX).status_code == 204


def test_news_respects_the_filters(client_in, team, user, bob):
    make_result(team, user, prompt="a cat")
    params = _news_poller(client_in.get(URL, {"q": "cat"}).content.decode())

    generation_create(team=team, user=bob, prompt="a dog")
    make_result(team, bob, prompt="a dog")

    news = client_in.get(NEWS, {**params, "q": "cat"}, **HTMX).content.decode()
    assert "New images have landed" not in news
    news = client_in.get(NEWS, {**params, "q": "dog"}, **HTMX).content.decode()
    assert "New images have landed" in news


@pytest.mark.parametrize("params", [{"seq": "x"}, {"seq": "1", "after": "nope"}, {}])
def test_malformed_news_requests_are_refused(client_in, params):
    assert client_in.get(NEWS, params, **HTMX).status_code == 400


def test_the_address_bar_gets_only_the_filters_in_use(client_in, team, user):
    make_result(team, user, prompt="a lighthouse")
    form = {"q": "lighthouse", "member": "", "status": "", "aspect_ratio": "1:1", "date_from": ""}

    from_form = {**HTMX, "HTTP_HX_TARGET": "gallery-results", "HTTP_HX_TRIGGER": "gallery-filters"}

    response = client_in.get(URL, form, **from_form)

    assert response["HX-Push-Url"] == "/gallery/?q=lighthouse&aspect_ratio=1%3A1"
    cleared = client_in.get(URL, {"q": "", "member": ""}, **from_form)
    assert cleared["HX-Push-Url"] == "/gallery/"
    # Refreshing the results in place ("Show them") adds no history entry.
    refreshed = client_in.get(URL, form, **HTMX, HTTP_HX_TARGET="gallery-results")
    assert "HX-Push-Url" not in refreshed
