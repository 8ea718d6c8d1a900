"""Quick checks (in `make test`) of the fixes the fault runs led to: queue
messages are hints, and a duplicate one must not multiply work.

- A poll message that arrives after another chain already checked the
  execution (a reconciler re-enqueue beside a late original) ends quietly,
  instead of starting a second poll chain that would live as long as the
  execution.
- The reconciler re-enqueues an overdue step once per grace period, not on
  every run while a backlog drains.
- References are uploaded before the generation is claimed for its POST, so a
  failure there leaves it plainly queued, never "submitting".
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from studio.generations import pipeline, reconcile
from studio.generations.images import inspect_image
from studio.generations.models import Generation, Status
from studio.generations.services import generation_create
from studio.videogen import VideoGenClient
from tests.conftest import delete_redis_keys
from tests.fixtures.factories import image_upload, make_user

GET_EXECUTION = "GET /v1/tools/executions/{execution_id}"


@pytest.fixture
def box(settings, sandbox_factory, transactional_db):
    sandbox = sandbox_factory("--pending-seconds", "5", "--running-seconds", "60")
    settings.VIDEOGEN_BASE_URL = sandbox.base_url
    settings.VIDEOGEN_API_KEY = sandbox.api_key
    yield sandbox
    delete_redis_keys()  # the messages these tests enqueue, with no worker to take them
    sandbox.stop()


def _running(user, execution_id: str, next_check_in: float) -> Generation:
    return Generation.objects.create(
        team=user.teams.get(), created_by=user, prompt="p", status=Status.RUNNING,
        remote_execution_id=execution_id,
        next_check_at=timezone.now() + timedelta(seconds=next_check_in),
    )


def test_a_poll_message_behind_another_chain_ends_without_a_request(box):
    user = make_user()
    execution_id = VideoGenClient(base_url=box.base_url, api_key=box.api_key).generate_image(
        prompt="p"
    )
    generation = _running(user, execution_id, next_check_in=20)

    assert pipeline.check(generation.pk) is None  # another chain checks it in 20 s
    assert box.stats()["requests"].get(GET_EXECUTION, 0) == 0

    Generation.objects.filter(pk=generation.pk).update(next_check_at=timezone.now())
    assert pipeline.check(generation.pk) > 0  # its own, due message: checked, re-scheduled
    assert box.stats()["requests"][GET_EXECUTION] == 1


def test_the_reconciler_re_enqueues_an_overdue_step_once_per_grace(box, settings):
    user = make_user()
    long_ago = timezone.now() - timedelta(minutes=10)
    _running(user, "vg_exec_lost_poll", next_check_in=-600)
    queued = Generation.objects.create(team=user.teams.get(), created_by=user, prompt="q")
    Generation.objects.filter(pk=queued.pk).update(updated_at=long_ago)

    first = reconcile.run(now=timezone.now())
    second = reconcile.run(now=timezone.now())
    after_grace = timezone.now() + timedelta(seconds=settings.STUDIO_RECONCILE_GRACE + 1)
    later = reconcile.run(now=after_grace)

    assert (first["poll"], first["submit"]) == (1, 1)
    assert (second["poll"], second["submit"]) == (0, 0)
    assert (later["poll"], later["submit"]) == (1, 1)  # still not done: once more


def test_a_reference_upload_that_fails_leaves_the_generation_queued(box):
    box.faults(server_error_share={"uploads": 1.0})  # POST /v1/files/upload's own group
    user = make_user()
    upload = image_upload(size=(80, 60), color=(10, 200, 10))
    generation = generation_create(
        team=user.teams.get(), user=user, prompt="with a reference",
        references=[(upload, inspect_image(upload, max_bytes=10**7, max_pixels=10**8))],
    )

    delay = pipeline.submit(generation.pk)

    generation.refresh_from_db()
    assert delay and delay > 0
    assert generation.status == Status.QUEUED and generation.submitted_at is None
    stats = box.stats()["requests"]
    assert stats["POST /v1/files/upload"] >= 1
    assert "POST /v1/tools/generate-image" not in stats
