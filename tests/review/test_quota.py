"""The monthly image quota: refused with a clear message before anything is
saved or sent, never exceeded under concurrent submits, released when a
generation is refused before it reaches VideoGen."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from studio.generations.models import Generation, Reference, Status
from studio.generations.quota import Month, QuotaExceeded, images_used
from studio.generations.services import generation_create
from tests.conftest import wait_for
from tests.fixtures.factories import image_upload, make_member
from tests.review.conftest import HTMX, State, set_policy, stored_generation

FORM = {"prompt": "a lighthouse", "aspect_ratio": "1:1", "watermark_mode": "AUTO"}
RENEWS = f"{Month.current().next.first_day.day} {Month.current().next.first_day:%B}"


def used(team) -> int:
    return images_used(team_id=team.pk, month=Month.current())


def test_a_request_over_the_quota_is_refused_next_to_the_number_and_nothing_is_saved(crew, as_user):
    set_policy(crew.team, monthly_image_quota=10)
    stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 8)

    response = as_user(crew.member).post(
        reverse("generation_create"),
        {**FORM, "num_results": 5, "references": image_upload()},
        **HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    message = (
        "This needs 5 images but only 2 of the team&#x27;s 10 this month are left. "
        f"The quota renews on {RENEWS}."
    )
    assert re.search(r'id="id_num_results_error"[^>]*>.*' + re.escape(message), html, re.S)
    assert Generation.objects.filter(created_by=crew.member).count() == 0
    assert Reference.objects.count() == 0  # the upload was not even stored


def test_with_nothing_left_the_message_is_on_top_of_the_form(crew, as_user):
    set_policy(crew.team, monthly_image_quota=3)
    stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 3)

    html = (
        as_user(crew.member)
        .post(reverse("generation_create"), {**FORM, "num_results": 1}, **HTMX)
        .content.decode()
    )

    assert '<ul class="errorlist nonfield">' in html
    assert "This needs 1 image but none of the team&#x27;s 3 this month are left." in html


def test_within_the_quota_the_generation_is_created(crew, as_user):
    set_policy(crew.team, monthly_image_quota=10)
    stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 8)

    response = as_user(crew.member).post(
        reverse("generation_create"), {**FORM, "num_results": 2}, **HTMX
    )

    assert response.status_code == 200
    assert Generation.objects.filter(created_by=crew.member).get().num_results == 2
    assert used(crew.team) == 10


def test_buttons_that_start_work_are_refused_with_a_toast(crew, as_user):
    set_policy(crew.team, monthly_image_quota=5)
    source = stored_generation(crew.team, crew.creator, states=(State.APPROVED,) * 4)
    failed = Generation.objects.create(
        team=crew.team,
        created_by=crew.creator,
        prompt="failed",
        num_results=2,
        status=Status.FAILED,
        remote_execution_id="vg_exec_failed",  # it reached VideoGen: it counts
    )
    client = as_user(crew.creator)
    result = source.results.first()
    assert used(crew.team) == 6
    before = Generation.objects.count()

    for url, needed in (
        (reverse("generation_resubmit", args=[failed.pk]), 2),
        (reverse("result_variations", args=[result.pk]), 4),
        (reverse("result_derive", args=[result.pk, "upscale_image"]), 1),
    ):
        response = client.post(url, **HTMX)
        assert response.status_code == 200
        images = "image" if needed == 1 else "images"
        assert json.loads(response["HX-Trigger"]) == {
            "studio:error": {
                "message": f"This needs {needed} {images} but none of the team's 5 this month "
                f"are left. The quota renews on {RENEWS}."
            }
        }
    assert Generation.objects.count() == before


def test_unlimited_without_a_quota(crew):
    stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 100)

    generation = generation_create(team=crew.team, user=crew.member, prompt="more", num_results=100)

    assert generation.pk and used(crew.team) == 200


def test_what_counts_this_month(crew):
    set_policy(crew.team, monthly_image_quota=100)
    counted = [
        stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 3),
        Generation.objects.create(  # cancelled after it reached VideoGen
            team=crew.team,
            created_by=crew.creator,
            prompt="x",
            num_results=4,
            status=Status.CANCELLED,
            remote_execution_id="vg_exec_c",
        ),
        Generation.objects.create(  # still queued: reserved
            team=crew.team, created_by=crew.creator, prompt="x", num_results=5
        ),
    ]
    Generation.objects.create(  # refused before the POST: released
        team=crew.team, created_by=crew.creator, prompt="x", num_results=7, status=Status.FAILED
    )
    Generation.objects.create(  # cancelled before it was sent: released
        team=crew.team, created_by=crew.creator, prompt="x", num_results=11, status=Status.CANCELLED
    )
    last_month = stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 13)
    Generation.objects.filter(pk=last_month.pk).update(
        created_at=Month.current().start - timedelta(minutes=1)
    )

    assert used(crew.team) == sum(g.num_results for g in counted) == 12


def test_a_generation_refused_by_videogen_before_it_started_gives_its_images_back(
    crew, celery_worker, settings, sandbox_factory
):
    """The real pipeline: the sandbox refuses the key, the generation fails unsubmitted."""
    refusing = sandbox_factory(api_key="another-key")
    settings.VIDEOGEN_BASE_URL = refusing.base_url
    set_policy(crew.team, monthly_image_quota=4)
    generation = generation_create(team=crew.team, user=crew.member, prompt="x", num_results=4)
    assert used(crew.team) == 4
    with pytest.raises(QuotaExceeded):
        generation_create(team=crew.team, user=crew.member, prompt="y", num_results=1)

    wait_for(lambda: Generation.objects.get(pk=generation.pk).status == Status.FAILED)

    generation.refresh_from_db()
    assert generation.remote_execution_id is None
    assert used(crew.team) == 0
    again = generation_create(team=crew.team, user=crew.member, prompt="z", num_results=4)
    assert again.pk
    refusing.stop()


# --- 20 submitters at once ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_submitters_never_exceed_the_quota(transactional_db):
    """Threads with their own connections post at the same moment; at most 50
    images are reserved and every other request is told what is left."""
    from tests.review.conftest import Crew

    crew = Crew()
    set_policy(crew.team, monthly_image_quota=50)
    submitters = [
        make_member(crew.team, "member", f"sub{i:02d}", personal_team=False) for i in range(20)
    ]
    clients = []
    for user in submitters:
        client = Client()
        client.force_login(user)
        clients.append(client)
    start = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)
    errors: list = []

    def submit(index: int) -> None:
        try:
            start.wait(timeout=10)
            responses[index] = clients[index].post(
                reverse("generation_create"), {**FORM, "num_results": 3}, **HTMX
            )
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert all(r is not None and r.status_code == 200 for r in responses)
    refused = [r for r in responses if "errorlist" in r.content.decode()]
    accepted = Generation.objects.filter(team=crew.team)
    assert used(crew.team) == sum(accepted.values_list("num_results", flat=True)) == 48
    assert accepted.count() == 16 and len(refused) == 4
    for response in refused:
        assert (
            "This needs 3 images but only 2 of the team&#x27;s 50 this month are left."
            in response.content.decode()
        )
    assert sorted(accepted.values_list("created_by__username", flat=True)) == sorted(
        u.username for u, r in zip(submitters, responses, strict=True) if r not in refused
    )
