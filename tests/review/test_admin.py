"""The Django admin for site staff: columns, thumbnails, filters, search."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from studio.audit.services import record as audit_record
from studio.generations.models import Generation
from tests.review.conftest import State, set_policy, stored_generation


@pytest.fixture
def work(crew):
    set_policy(crew.team, monthly_image_quota=40, require_approval=True)
    kite = stored_generation(crew.team, crew.creator, states=(State.PENDING, State.APPROVED))
    fox = stored_generation(crew.team, crew.member, states=(State.REJECTED,), prompt="a fox")
    Generation.objects.create(
        team=crew.team, created_by=crew.member, prompt="queued", num_results=3
    )
    return kite, fox


def thumbs(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'<img src="/media/results/(\d+)/thumbnail/"', html)}


def test_generation_list_has_thumbnails_and_finds_by_prompt_and_user(work, admin_client):
    kite, fox = work
    url = reverse("admin:generations_generation_changelist")

    everything = admin_client.get(url).content.decode()
    by_prompt = admin_client.get(url, {"q": "kite"}).content.decode()
    by_user = admin_client.get(url, {"q": "mona"}).content.decode()
    queued = admin_client.get(url, {"status__exact": "queued"}).content.decode()

    assert thumbs(everything) == {kite.results.get(position=0).pk, fox.results.get().pk}
    assert "a red kite over the hills" in by_prompt and "a fox" not in by_prompt
    assert "a fox" in by_user and "queued" in by_user and "red kite" not in by_user
    assert "queued" in queued and "a fox" not in queued
    for column in ("Image", "Prompt", "Team", "Created by", "Tool", "Status", "Delivered"):
        assert f">{column}</" in everything
    assert "Cancel selected in-flight generations" in everything
    assert "Re-run ingest" in everything


def test_result_list_filters_by_review_state_and_finds_by_prompt_and_creator(work, admin_client):
    kite, fox = work
    url = reverse("admin:generations_result_changelist")

    pending = admin_client.get(url, {"review_state__exact": "pending"}).content.decode()
    by_creator = admin_client.get(url, {"q": "carla"}).content.decode()
    by_prompt = admin_client.get(url, {"q": "fox"}).content.decode()

    assert thumbs(pending) == {kite.results.get(position=0).pk}
    assert thumbs(by_creator) == set(kite.results.values_list("pk", flat=True))
    assert thumbs(by_prompt) == {fox.results.get().pk}
    assert "Approve selected results" in pending and "Reject selected results" in pending


def test_thumbnails_in_the_admin_load_for_staff(work, admin_client):
    kite, _ = work
    pending = kite.results.get(position=0)

    response = admin_client.get(reverse("result_media", args=[pending.pk, "thumbnail"]))

    assert response.status_code == 200 and response["Content-Type"] == "image/webp"


def test_team_list_shows_policy_quota_and_usage(work, admin_client, crew):
    html = admin_client.get(reverse("admin:teams_team_changelist")).content.decode()

    row = re.search(r"<tr>.*?Acme.*?</tr>", html, re.S)[0]
    cells = re.findall(r'<td class="field-(\w+)">(.*?)</td>', row, re.S)
    values = {name: re.sub(r"<[^>]+>", "", value).strip() for name, value in cells}
    assert values["member_count"] == "5"
    assert values["quota"] == "40"
    assert values["images_this_month"] == "6"  # 2 + 1 stored, 3 queued
    assert 'alt="True"' in row  # require approval


def test_other_admin_pages_render(work, admin_client, crew):
    kite, _ = work
    audit_record(
        team=crew.team,
        actor=crew.owner,
        action="policy.quota",
        target=crew.team,
        before={},
        after={"monthly_image_quota": 40},
    )
    pages = [
        reverse("admin:generations_generation_change", args=[kite.pk]),
        reverse("admin:generations_result_change", args=[kite.results.first().pk]),
        reverse("admin:generations_reference_changelist"),
        reverse("admin:teams_team_change", args=[crew.team.pk]),
        reverse("admin:teams_membership_changelist"),
        reverse("admin:audit_auditentry_changelist") + "?action__exact=policy.quota",
    ]
    for url in pages:
        assert admin_client.get(url).status_code == 200, url
    team_page = admin_client.get(pages[3]).content.decode()
    assert 'name="review_policy-0-monthly_image_quota"' in team_page and 'value="40"' in team_page
