"""Cost before submit: the form's line, and spend on the usage page with its CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from studio.generations.models import Generation, Status
from studio.teams.models import Membership, Role, TeamPolicy
from tests.fixtures.factories import make_member, make_user
from tests.gallery.factories import sign_in


@pytest.fixture
def team_with_quota(db):
    owner = make_user("olga")
    team = owner.teams.get()
    TeamPolicy.objects.create(team=team, monthly_image_quota=900)
    Generation.objects.create(
        team=team, created_by=owner, prompt="p", num_results=20, status=Status.RUNNING
    )
    return team, owner


def _cost(client, n):
    return " ".join(
        client.get(reverse("generation_cost"), {"num_results": n}).content.decode().split()
    )


def test_the_form_says_what_a_request_takes(client, team_with_quota, settings):
    team, owner = team_with_quota
    sign_in(client, owner, team)

    assert _cost(client, 20) == "Uses 20 images — 880 of the team's 900 left this month"

    Membership.objects.filter(team=team, user=owner).update(monthly_image_limit=100)
    settings.STUDIO_PRICE_PER_IMAGE = Decimal("0.04")
    settings.STUDIO_CURRENCY = "EUR"
    assert _cost(client, 20) == (
        "Uses 20 images — 880 of the team's 900 left this month; you have 80 of your 100 · 0.80 EUR"
    )
    assert "more than is left" in _cost(client, 90)
    assert _cost(client, "lots").startswith("Uses 1 image —")


def test_viewers_do_not_get_a_cost_they_cannot_spend(client, team_with_quota):
    team, owner = team_with_quota
    sign_in(client, make_member(team, Role.VIEWER), team)
    assert client.get(reverse("generation_cost"), {"num_results": 2}).status_code == 403


def test_the_usage_page_and_csv_show_spend_per_member_and_month(client, team_with_quota, settings):
    team, owner = team_with_quota
    settings.STUDIO_PRICE_PER_IMAGE = Decimal("0.50")
    other = make_member(team, Role.MEMBER, "=cmd|calc")
    Generation.objects.create(
        team=team, created_by=other, prompt="q", num_results=4, status=Status.QUEUED
    )
    # Refused before reaching VideoGen: not counted, not paid.
    Generation.objects.create(
        team=team, created_by=other, prompt="r", num_results=9, status=Status.FAILED
    )
    sign_in(client, owner, team)

    page = client.get(reverse("review_usage")).content.decode()
    assert "Spend (USD)" in page and "10.00" in page and "2.00" in page and "12.00" in page

    response = client.get(reverse("review_usage_csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["month", "member"]
    by_member = {r[1]: r for r in rows[1:]}
    assert by_member["olga"][4:] == ["20", "0", "10.00", "USD"]
    assert by_member["'=cmd|calc"][3:7] == ["13", "4", "0", "2.00"]
    sign_in(client, other, team)
    assert client.get(reverse("review_usage_csv")).status_code == 403
