"""Ratings: one per member per image, the spread in the viewer, and the gallery
sorted and filtered by them with keyset pages that stay correct."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from studio.discussion.models import Rating
from studio.discussion.services import rating_set
from studio.gallery import selectors
from studio.generations.models import Result
from studio.teams.models import Membership, Role
from tests.fixtures.factories import make_member, make_user
from tests.gallery.factories import make_result, make_results, sign_in

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def crew(db):
    owner = make_user("olga")
    team = owner.teams.get()
    viewer = make_member(team, Role.VIEWER, "vera")
    return team, owner, viewer


def _m(team, user):
    return Membership.objects.get(team=team, user=user)


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER])
def test_every_role_rates_once_and_can_take_it_back(client, crew, role):
    team, owner, _ = crew
    person = owner if role == Role.OWNER else make_member(team, role)
    result = make_result(team, owner)
    sign_in(client, person, team)
    url = reverse("rating_set", args=[result.pk])

    assert client.post(url, {"stars": 4}, **HTMX).status_code == 200
    assert client.post(url, {"stars": 2}, **HTMX).status_code == 200
    assert list(Rating.objects.values_list("stars", flat=True)) == [2]
    result.refresh_from_db()
    assert (result.rating_score, result.rating_count) == (200, 1)

    assert client.post(url, {"stars": 0}, **HTMX).status_code == 200
    result.refresh_from_db()
    assert (result.rating_score, result.rating_count, Rating.objects.count()) == (0, 0, 0)
    assert client.post(url, {"stars": 6}, **HTMX).status_code == 400


def test_the_viewer_shows_the_spread(client, crew):
    team, owner, viewer = crew
    result = make_result(team, owner)
    rating_set(membership=_m(team, owner), result=result, stars=5)
    rating_set(membership=_m(team, viewer), result=result, stars=2)
    sign_in(client, viewer, team)

    html = client.get(reverse("result_discussion", args=[result.pk]), **HTMX).content.decode()

    assert "3.5 ★ from 2 ratings" in html
    assert 'max="2" value="1" aria-label="1 of 2 gave 5 stars"' in html
    assert 'max="2" value="0" aria-label="0 of 2 gave 4 stars"' in html


def _walk(team, membership, filters, limit=3):
    seen, cursor = [], None
    while True:
        page = selectors.gallery_results(
            team=team, membership=membership, filters=filters, cursor=cursor, limit=limit
        )
        seen += page.results
        if page.next_cursor is None:
            return seen
        cursor = selectors.Cursor.parse(str(page.next_cursor))


def test_sorted_by_the_teams_rating_every_page_follows_on(crew):
    """Ties in score and in time: each image once, best first, then newest, then id."""
    team, owner, viewer = crew
    moment = datetime(2026, 5, 1, tzinfo=UTC)
    results = make_results(team, owner, 4, created_at=moment) + make_results(
        team, owner, 4, created_at=moment + timedelta(hours=1)
    )
    stars = [5, 3, 3, 0, 5, 3, 0, 1]
    for result, n in zip(results, stars, strict=True):
        if n:
            rating_set(membership=_m(team, owner), result=result, stars=n)
    membership = _m(team, owner)

    walked = _walk(team, membership, selectors.Filters(sort=selectors.TOP_RATED))

    expected = sorted(
        Result.objects.filter(team=team),
        key=lambda r: (-r.rating_score, -r.created_at.timestamp(), -r.pk),
    )
    assert [r.pk for r in walked] == [r.pk for r in expected]
    top = _walk(team, membership, selectors.Filters(sort=selectors.TOP_RATED, min_rating=3))
    assert len(top) == 5


def test_my_rating_sorts_and_filters_by_my_stars_only(crew):
    team, owner, viewer = crew
    a, b, c = make_results(team, owner, 3)
    rating_set(membership=_m(team, owner), result=a, stars=2)
    rating_set(membership=_m(team, owner), result=b, stars=4)
    rating_set(membership=_m(team, viewer), result=c, stars=5)  # someone else's
    filters = selectors.Filters(sort=selectors.MY_RATING, rater=owner)

    assert [r.pk for r in _walk(team, _m(team, owner), filters, limit=1)] == [b.pk, a.pk]
    only_good = selectors.Filters(my_min_rating=3, rater=owner)
    assert [r.pk for r in _walk(team, _m(team, owner), only_good)] == [b.pk]


def test_the_gallery_page_sorted_by_rating(client, crew, django_assert_max_num_queries):
    team, owner, viewer = crew
    low, high = (
        make_result(team, owner, prompt="low one"),
        make_result(team, owner, prompt="high one"),
    )
    rating_set(membership=_m(team, viewer), result=low, stars=1)
    rating_set(membership=_m(team, viewer), result=high, stars=5)
    sign_in(client, viewer, team)

    # 13: the page's edits are one query even when it has none (gallery_results).
    with django_assert_max_num_queries(13):
        html = client.get(reverse("gallery"), {"sort": "rating"}).content.decode()
    assert html.index("high one") < html.index("low one")
    html = client.get(reverse("gallery"), {"sort": "mine", "my_rating": 5}).content.decode()
    assert "high one" in html and "low one" not in html
    # A cursor of another order is refused, not misread.
    newest_cursor = selectors.Cursor.after(high)
    response = client.get(reverse("gallery"), {"sort": "rating", "cursor": str(newest_cursor)})
    assert response.status_code == 400


def test_the_rating_sort_is_read_from_its_index(crew):
    team, owner, _ = crew
    make_results(team, owner, 3)
    queryset = (
        Result.objects.filter(team=team)
        .filter(rating_score__lte=300)
        .order_by("-rating_score", "-created_at", "-pk")[:10]
    )
    plan = queryset.explain()
    assert "result_team_rating" in plan, plan
