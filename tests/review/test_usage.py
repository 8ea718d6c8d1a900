"""Usage per team and member per month, and its server-side SVG charts."""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from studio.generations.models import Generation, Result, Status, Tool
from studio.generations.quota import Month
from studio.review import rollup
from studio.review.charts import nice_ceiling
from studio.review.models import UsageDay
from studio.review.selectors import usage_by_month, usage_csv_rows, usage_for_month
from studio.teams.models import Team
from tests.fixtures.factories import make_member
from tests.review.conftest import State, set_policy, stored_generation


def _month_of_activity(crew):
    """carla: 2 generations (3 + 2 images, 4 delivered) and an upscale; mona: one
    failed before reaching VideoGen (5 images, none delivered)."""
    stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 3)
    partial = stored_generation(crew.team, crew.creator, states=(State.PENDING, State.PENDING))
    Result.objects.filter(generation=partial, position=1).update(sha256="")  # not stored
    source = partial.results.get(position=0)
    stored_generation(
        crew.team,
        crew.creator,
        states=(State.APPROVED,),
        tool=Tool.UPSCALE_IMAGE,
        source_result=source,
    )
    Generation.objects.create(
        team=crew.team, created_by=crew.member, prompt="x", num_results=5, status=Status.FAILED
    )
    old = stored_generation(crew.team, crew.member, states=(State.PENDING,) * 7)
    Generation.objects.filter(pk=old.pk).update(
        created_at=Month.current().start - timedelta(days=3)
    )
    other = Team.objects.create(name="Other")
    stranger = make_member(other, "owner", personal_team=False)
    stored_generation(other, stranger, states=(State.PENDING,) * 9)


def test_usage_per_team_and_member(crew):
    _month_of_activity(crew)
    set_policy(crew.team, monthly_image_quota=20)

    usage = usage_for_month(team=crew.team, month=Month.current())

    team = usage.team
    assert (team.generations, team.images_requested, team.images_delivered) == (4, 11, 5)
    assert team.executions == {Tool.GENERATE_IMAGE: 2, Tool.UPSCALE_IMAGE: 1}
    assert team.tool_counts == [2, 1, 0, 0]
    by_name = {m.label: m for m in usage.members}
    carla, mona = by_name["carla"], by_name["mona"]
    assert (carla.generations, carla.images_requested, carla.images_delivered) == (3, 6, 5)
    assert (mona.generations, mona.images_requested, mona.images_delivered) == (1, 5, 0)
    assert mona.executions == {}
    assert by_name["victor"].generations == 0  # every member is listed
    assert [m.label for m in usage.members][:2] == ["carla", "mona"]
    # The quota counts what may still be charged: not the failed, never-sent request.
    assert (usage.quota, usage.quota_used, usage.quota_left) == (20, 6, 14)
    today = [row for day, row in usage.days if row.images_requested]
    assert len(usage.days) in (28, 29, 30, 31) and len(today) == 1
    assert (today[0].images_requested, today[0].images_delivered) == (11, 5)

    last = usage_for_month(team=crew.team, month=Month.current().previous)
    assert (last.team.generations, last.team.images_requested) == (1, 7)


def _days_ago(generation, days):
    at = timezone.now() - timedelta(days=days)
    Generation.objects.filter(pk=generation.pk).update(created_at=at)
    return at.date(), Month(at.year, at.month)


def test_a_settled_day_is_rolled_up_once_then_read_from_its_rollup(crew):
    last_month = (timezone.now() - Month.current().start).days + 3  # settled, whatever today
    made = stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 3)
    day, month = _days_ago(made, last_month)

    first = usage_for_month(team=crew.team, month=month)

    assert (first.team.generations, first.team.images_requested) == (1, 3)
    assert (first.team.images_billed, first.team.images_delivered) == (3, 3)
    assert UsageDay.objects.filter(team=crew.team, day=day, user=crew.creator).exists()
    # Every day of a past month is settled: nothing is counted live any more.
    with CaptureQueriesContext(connection) as queries:
        again = usage_for_month(team=crew.team, month=month)
    assert not [q for q in queries if "generations_generation" in q["sql"]]
    assert again.team.images_delivered == 3
    # A month whose every day is rolled up is kept whole: no query at all the next time.
    assert dict(usage_by_month(team=crew.team, last=month, months=1))[month].images_billed == 3
    with CaptureQueriesContext(connection) as queries:
        kept = dict(usage_by_month(team=crew.team, last=month, months=1))
    assert len(queries) == 0 and kept[month].images_billed == 3
    by_month = dict(usage_by_month(team=crew.team, last=Month.current()))
    assert (by_month[month].generations, by_month[month].images_billed) == (1, 3)
    csv_rows = [(m, r.label, r.images_requested) for m, r in
                usage_csv_rows(team=crew.team, last=Month.current())]
    assert (month, "carla", 3) in csv_rows


def test_a_day_with_a_generation_on_its_way_is_counted_live_until_it_ends(crew):
    queued = Generation.objects.create(
        team=crew.team, created_by=crew.member, prompt="x", num_results=4, status=Status.QUEUED
    )
    day, month = _days_ago(queued, 5)

    waiting = usage_for_month(team=crew.team, month=month)
    assert (waiting.team.images_requested, waiting.quota_used) == (4, 4)
    assert not UsageDay.objects.filter(team=crew.team, day=day).exists()

    # Refused before reaching VideoGen: its images no longer count, and the day settles.
    Generation.objects.filter(pk=queued.pk).update(status=Status.FAILED)
    ended = usage_for_month(team=crew.team, month=month)
    assert (ended.team.images_requested, ended.quota_used) == (4, 0)
    assert UsageDay.objects.filter(team=crew.team, day=day, user=None).exists()


def test_usage_page_draws_bars_per_member_and_per_day(crew, as_user):
    _month_of_activity(crew)

    response = as_user(crew.owner).get(reverse("review_usage"))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<svg viewBox="0 0 640') == 2 and "<canvas" not in html
    assert '<rect class="usage-chart__bar usage-chart__bar--requested"' in html
    assert "<title>carla: 6 requested</title>" in html
    assert "<title>carla: 5 delivered</title>" in html
    assert "<title>mona: 0 delivered</title>" in html
    # carla's 6 requested images fill the scale (10) at 6/10 of the 456-pixel plot.
    bar = re.search(
        r'<rect class="usage-chart__bar usage-chart__bar--requested" x="140.00" y="[\d.]+" '
        r'width="([\d.]+)" height="11.00" rx="2"><title>carla: 6 requested',
        html,
    )
    assert bar and float(bar[1]) == 273.6
    assert f'value="{Month.current()}"' in html  # the month picker
    assert "9" not in re.findall(r'<td class="num">(\d+)</td>', html)  # not the other team's


def test_month_picker_shows_another_month_and_ignores_nonsense(crew, as_user):
    _month_of_activity(crew)
    client = as_user(crew.admin)
    previous = Month.current().previous

    earlier = client.get(reverse("review_usage"), {"month": str(previous)}).content.decode()
    nonsense = client.get(reverse("review_usage"), {"month": "2026-13"}).content.decode()

    assert f"Usage · {previous.start:%B %Y}" in earlier
    assert 'rel="next"' in earlier
    assert "<title>mona: 7 requested</title>" in earlier
    assert f"Usage · {Month.current().start:%B %Y}" in nonsense and 'rel="next"' not in nonsense


def test_an_empty_month_says_so(crew, as_user):
    html = as_user(crew.owner).get(reverse("review_usage")).content.decode()

    assert "Nothing was generated in" in html


def test_nice_ceiling():
    assert [nice_ceiling(v) for v in (0, 1, 2, 3, 6, 10, 11, 48, 101, 700)] == [
        1,
        1,
        2,
        5,
        10,
        10,
        20,
        50,
        200,
        1000,
    ]


def test_month_arithmetic():
    assert str(Month(2026, 12).next) == "2027-01"
    assert str(Month(2026, 1).previous) == "2025-12"
    assert Month.parse("2026-02") == Month(2026, 2)
    assert Month.parse("26-2") is None and Month.parse("") is None and Month.parse("x-y") is None


def test_images_sent_to_the_trash_still_count_as_delivered_live_and_rolled_up(crew):
    """What was made stays made: the Trash never rewrites a day's figures, so a
    day reads the same before and after it is rolled up."""
    today = stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 2)
    settled = stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 3)
    last_month = (timezone.now() - Month.current().start).days + 3
    _day, month = _days_ago(settled, last_month)
    Result.all_objects.filter(generation__in=[today, settled], position=0).update(
        deleted_at=timezone.now()
    )

    live = usage_for_month(team=crew.team, month=Month.current())
    assert live.team.images_delivered == 2
    rolled = usage_for_month(team=crew.team, month=month)
    assert rolled.team.images_delivered == 3
    assert UsageDay.objects.filter(team=crew.team, user=crew.creator).exists()


def test_live_tallies_split_days_where_the_time_zone_does(crew):
    """rollup.tallies puts each generation in the day of the current time zone, as
    TruncDate did: at the edges of its days, over a run of days of uneven length."""
    with timezone.override("Pacific/Auckland"):  # 13 hours from UTC: other days
        first = timezone.localdate() - timedelta(days=20)
        made = {}
        for offset, (hour, minute, second), who, tool, states in [
            (0, (0, 0, 0), crew.creator, Tool.GENERATE_IMAGE, (State.PENDING,) * 2),
            (0, (23, 59, 59), crew.creator, Tool.GENERATE_IMAGE, (State.PENDING,)),
            (1, (0, 0, 0), crew.member, Tool.GENERATE_IMAGE, (State.PENDING,) * 3),
            (3, (12, 0, 0), crew.creator, Tool.UPSCALE_IMAGE, (State.APPROVED,)),
            (6, (23, 59, 59), crew.member, Tool.GENERATE_IMAGE, (State.PENDING,) * 4),
            (8, (0, 0, 1), crew.creator, Tool.GENERATE_IMAGE, (State.PENDING,)),
            (8, (23, 59, 59), crew.creator, Tool.GENERATE_IMAGE, (State.PENDING,) * 2),
        ]:
            generation = stored_generation(crew.team, who, states=states, tool=tool)
            at = rollup._start(first + timedelta(days=offset)).replace(
                hour=hour, minute=minute, second=second
            )
            Generation.objects.filter(pk=generation.pk).update(created_at=at)
            made[generation.pk] = (first + timedelta(days=offset), who.pk, tool, len(states))
        Result.all_objects.filter(generation_id=max(made), position=1).update(sha256="")
        # Just outside the run: not counted in it.
        outside = stored_generation(crew.team, crew.creator)
        Generation.objects.filter(pk=outside.pk).update(
            created_at=rollup._start(first + timedelta(days=9))
        )

        found = rollup.tallies(team=crew.team, first=first, end=first + timedelta(days=9))

    expected = {}
    for pk, (day, user_id, tool, images) in made.items():
        tally = expected.setdefault((day, user_id, tool), [0, 0, 0])
        tally[0] += 1
        tally[1] += images
        tally[2] += images - (pk == max(made))  # the one image not stored
    assert {(t.day, t.user_id, t.tool): [t.generations, t.images_requested, t.images_delivered]
            for t in found} == expected
