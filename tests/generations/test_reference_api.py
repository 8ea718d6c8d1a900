"""The pipeline speaks VideoGen's published reference: hydrated results are used as
they come, references are temporary uploads and come back when archived. Real
worker, real sandbox (a test's own, so its counters are the test's)."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from studio.generations import pipeline
from studio.generations.images import inspect_image
from studio.generations.messages import submit_refusal_message
from studio.generations.models import Generation, Status
from studio.generations.services import generation_create
from studio.videogen import VideoGenClient
from studio.videogen.assumptions import WATERMARK_REFUSED_STATUS
from studio.videogen.errors import ForbiddenError, InvalidParametersError
from tests.conftest import wait_for
from tests.fixtures.factories import image_upload, make_user

EXECUTION_GET = "GET /v1/tools/executions/{execution_id}"


@pytest.fixture
def box(settings, sandbox_factory, celery_worker):
    box = sandbox_factory("--pending-seconds", "0.1", "--running-seconds", "0.3")
    settings.VIDEOGEN_BASE_URL = box.base_url
    settings.VIDEOGEN_API_KEY = box.api_key
    yield box
    box.stop()


def _finished(generation) -> bool:
    generation.refresh_from_db()
    return generation.status in (Status.FAILED, Status.CANCELLED, Status.UNKNOWN) or bool(
        generation.status == Status.SUCCEEDED and generation.ingested_at
    )


def _hydrates(box) -> int:
    return sum(n for name, n in box.stats()["requests"].items() if name.endswith("/hydrate"))


def test_polled_results_are_stored_without_a_single_hydrate(box):
    user = make_user()
    generation = generation_create(
        team=user.teams.get(), user=user, prompt="ten lanterns", aspect_ratio="1:1", num_results=10
    )

    wait_for(lambda: _finished(generation), timeout=60)

    assert generation.status == Status.SUCCEEDED, generation.error_message
    assert generation.results.filter(sha256__gt="").count() == 10
    assert _hydrates(box) == 0
    # The poll that saw "succeeded" carried the results: the ingest does not read again.
    assert box.stats()["requests"][EXECUTION_GET] == generation.check_count + 1


def test_only_an_expired_url_is_hydrated(box):
    user = make_user()
    client = VideoGenClient(base_url=box.base_url, api_key=box.api_key)
    execution_id = client.generate_image(prompt="two kites", num_results=2)
    wait_for(lambda: client.get_execution(execution_id).is_succeeded, timeout=20)
    execution = client.get_execution(execution_id)
    generation = Generation.objects.create(
        team=user.teams.get(), created_by=user, prompt="two kites", num_results=2,
        status=Status.SUCCEEDED, remote_execution_id=execution_id,
    )
    sources = pipeline.result_sources(execution)
    assert all(s["url"] and s["expiresAt"] > time.time() for s in sources)
    sources[0] = {**sources[0], "url": sources[0]["url"] + "x", "expiresAt": time.time() - 5}

    pipeline.ingest(generation.pk, sources)

    assert generation.results.filter(sha256__gt="").count() == 2
    assert box.stats()["requests"]["POST /v1/files/{file_id}/hydrate"] == 1


def test_references_are_uploaded_as_temporary_files(box):
    user = make_user()
    team = user.teams.get()
    upload = image_upload(size=(200, 200), color=(200, 30, 30))
    info = inspect_image(upload, max_bytes=10_000_000, max_pixels=40_000_000)
    generation = generation_create(team=team, user=user, prompt="red", references=[(upload, info)])

    wait_for(lambda: _finished(generation), timeout=30)

    assert generation.status == Status.SUCCEEDED, generation.error_message
    reference = team.references.get()
    remote = VideoGenClient(base_url=box.base_url, api_key=box.api_key).get_file(
        reference.remote_file_id
    )
    assert remote.scope == "TEMPORARY"
    assert _hydrates(box) == 0  # readiness is read with GET /v1/files/{id}


def test_an_archived_reference_is_uploaded_again_and_the_submit_retried(box):
    user = make_user()
    team = user.teams.get()
    upload = image_upload(size=(200, 200), color=(30, 30, 200))
    info = inspect_image(upload, max_bytes=10_000_000, max_pixels=40_000_000)
    first = generation_create(team=team, user=user, prompt="blue", references=[(upload, info)])
    wait_for(lambda: _finished(first), timeout=30)
    reference = team.references.get()
    gone = reference.remote_file_id
    # VideoGen archived the temporary file; Studio uploaded it hours ago.
    httpx.post(
        f"{box.base_url}/v1/files/{gone}/archive",
        headers={"Authorization": f"Bearer {box.api_key}"},
    ).raise_for_status()
    team.references.update(uploaded_at=timezone.now() - timedelta(hours=3))

    second = generation_create(
        team=team,
        user=user,
        prompt="blue again",
        references=[(image_upload(size=(200, 200), color=(30, 30, 200)), info)],
    )
    wait_for(lambda: _finished(second), timeout=30)

    assert second.status == Status.SUCCEEDED, second.error_message
    reference.refresh_from_db()
    assert reference.remote_file_id != gone and reference.uploaded_at
    stats = box.stats()
    assert stats["requests"]["POST /v1/files/upload"] == 2
    # One refused POST (nothing started), then the one accepted: two executions in all.
    assert stats["requests"]["POST /v1/tools/generate-image"] == 3
    assert sum(stats["executions"].values()) == 2


def test_a_reference_older_than_a_day_is_uploaded_again_before_the_post(box):
    user = make_user()
    team = user.teams.get()
    upload = image_upload(size=(200, 200), color=(30, 200, 30))
    info = inspect_image(upload, max_bytes=10_000_000, max_pixels=40_000_000)
    first = generation_create(team=team, user=user, prompt="green", references=[(upload, info)])
    wait_for(lambda: _finished(first), timeout=30)
    team.references.update(uploaded_at=timezone.now() - timedelta(hours=25))

    second = generation_create(
        team=team,
        user=user,
        prompt="green again",
        references=[(image_upload(size=(200, 200), color=(30, 200, 30)), info)],
    )
    wait_for(lambda: _finished(second), timeout=30)

    assert second.status == Status.SUCCEEDED, second.error_message
    stats = box.stats()
    assert stats["requests"]["POST /v1/files/upload"] == 2
    assert stats["requests"]["POST /v1/tools/generate-image"] == 2  # none refused


def test_a_refused_no_watermark_is_told_by_its_status():
    refused = ForbiddenError("Not allowed.", status=WATERMARK_REFUSED_STATUS)

    assert "Production add-on" in submit_refusal_message(refused, watermark_mode="NONE")
    assert "Production add-on" not in submit_refusal_message(refused, watermark_mode="AUTO")
    other = InvalidParametersError("prompt is required", status=400)
    assert "Production add-on" not in submit_refusal_message(other, watermark_mode="NONE")


def test_variations_of_an_archived_temporary_result_upload_studios_copy(box):
    from studio.generations.services import generation_variations

    user = make_user()
    source = generation_create(
        team=user.teams.get(), user=user, prompt="a short-lived fox", is_output_temporary=True
    )
    wait_for(lambda: _finished(source), timeout=30)
    result = source.results.get()
    # A day later VideoGen has archived the temporary output.
    httpx.post(
        f"{box.base_url}/v1/files/{result.remote_file_id}/archive",
        headers={"Authorization": f"Bearer {box.api_key}"},
    ).raise_for_status()
    type(result).objects.filter(pk=result.pk).update(created_at=timezone.now() - timedelta(days=1))
    result.refresh_from_db()

    variation = generation_variations(result=result, user=user)
    wait_for(lambda: _finished(variation), timeout=30)

    assert variation.status == Status.SUCCEEDED, variation.error_message
    reference = variation.references.get()
    assert reference.remote_file_id != result.remote_file_id
    assert box.stats()["requests"]["POST /v1/files/upload"] == 1
