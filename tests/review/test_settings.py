"""The review settings page: "require approval" for admins and owners; the quota, read-only."""

from __future__ import annotations

import re

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from studio.generations.models import Generation, Result
from studio.review import selectors
from studio.teams.models import TeamPolicy
from tests.review.conftest import HTMX, State, plan_of, set_policy, stored_generation

URL = reverse("review_settings")


def checked_box(name):
    return re.compile(rf'<input type="checkbox" name="{name}"[^>]* checked>')


def test_settings_show_the_quota_and_offer_to_approve_the_backlog(crew, as_user):
    set_policy(crew.team, monthly_image_quota=40)
    stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 6)

    html = as_user(crew.admin).get(URL).content.decode()

    assert "<strong>6 of 40</strong> images used" in html
    assert 'name="require_approval"' in html and not checked_box("require_approval").search(html)
    assert "Approve the 6 images already in the gallery" in html
    assert checked_box("approve_existing").search(html)  # on by default


def test_a_backlog_past_the_count_cap_is_more_than_the_cap(crew, as_user, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 4)
    stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 6)

    html = as_user(crew.admin).get(URL).content.decode()

    assert selectors.pending_count(team=crew.team) == 5  # counted up to the cap + 1 only
    assert "Approve the more than 4 images already in the gallery" in html


def test_the_backlog_leaves_out_images_in_the_trash(crew):
    kept = stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 2)
    binned = stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 3)
    Generation.objects.filter(pk=binned.pk).update(deleted_at=timezone.now())
    Result.all_objects.filter(generation=kept, position=1).update(deleted_at=timezone.now())

    assert selectors.pending_count(team=crew.team) == 1


def test_once_required_the_backlog_option_is_gone_and_the_box_is_checked(crew, as_user):
    set_policy(crew.team, require_approval=True)
    stored_generation(crew.team, crew.creator, states=(State.PENDING,))

    html = as_user(crew.owner).get(URL).content.decode()

    assert checked_box("require_approval").search(html)
    assert "approve_existing" not in html
    assert "Unlimited." in html


def test_saving_with_htmx_swaps_the_form_and_says_saved(crew, as_user):
    response = as_user(crew.owner).post(URL, {"require_approval": "on"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="policy-form"')
    assert '<span class="settings-form__saved" role="status">Saved.</span>' in html
    assert TeamPolicy.objects.get(team=crew.team).require_approval is True


def test_members_cannot_change_it(crew, as_user):
    response = as_user(crew.member).post(URL, {"require_approval": "on"})

    assert response.status_code == 403
    assert not TeamPolicy.objects.filter(team=crew.team).exists()


def test_the_backlog_is_counted_from_its_own_index_alone(crew):
    """pending_count reads result_team_awaiting (migration 0010), the stored images
    awaiting review, and no row of the table."""
    stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 3)

    count, plan = plan_of(lambda: selectors.pending_count(team=crew.team))

    assert count == 3
    if connection.vendor == "postgresql":
        # PostgreSQL plans by the table's statistics: with a test's handful of rows any
        # index of the team will do (seen after other tests ran). At 100,000 images it
        # is an index-only scan of this one (bench/pages.py's database); here, that the
        # index is there with the query's conditions.
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s",
                           ["result_team_awaiting"])
            (definition,) = cursor.fetchone()
        assert "WHERE ((deleted_at IS NULL)" in definition and "pending" in definition, definition
    else:
        assert "USING COVERING INDEX result_team_awaiting" in plan, plan
