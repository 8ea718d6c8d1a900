"""The reconciler resumes overdue work from the database alone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from studio.generations import pipeline, reconcile
from studio.generations.models import Generation, Status
from studio.videogen import VideoGenClient
from tests.conftest import wait_for
from tests.fixtures.factories import make_user


def _landed(generation):
    generation.refresh_from_db()
    return generation.status == Status.SUCCEEDED and generation.ingested_at is not None


def _overdue():
    return timezone.now() - timedelta(minutes=5)


@pytest.fixture
def own_sandbox(settings, sandbox_factory, celery_worker):
    """A sandbox of this test's own, so its execution list holds only what the test made."""
    box = sandbox_factory()
    settings.VIDEOGEN_BASE_URL = box.base_url
    settings.VIDEOGEN_API_KEY = box.api_key
    return VideoGenClient(base_url=box.base_url, api_key=box.api_key)


def test_queued_generation_whose_message_was_lost_is_submitted(celery_worker):
    user = make_user()
    # Created without its submit message, as if the broker lost it.
    generation = Generation.objects.create(team=user.teams.get(), created_by=user, prompt="lost")
    Generation.objects.filter(pk=generation.pk).update(updated_at=_overdue())

    counts = reconcile.run(now=timezone.now())

    assert counts["submit"] == 1
    wait_for(lambda: _landed(generation), message="reconciled generation did not land")


def test_recent_queued_generation_is_left_alone(celery_worker):
    user = make_user()
    Generation.objects.create(team=user.teams.get(), created_by=user, prompt="fresh")

    assert reconcile.run(now=timezone.now())["submit"] == 0


def test_running_generation_without_a_recent_check_is_polled_again(own_sandbox):
    user = make_user()
    execution_id = own_sandbox.generate_image(prompt="orphaned poll")
    generation = Generation.objects.create(
        team=user.teams.get(),
        created_by=user,
        prompt="orphaned poll",
        status=Status.RUNNING,
        remote_execution_id=execution_id,
        next_check_at=_overdue(),
    )

    assert reconcile.run(now=timezone.now())["poll"] == 1
    wait_for(lambda: _landed(generation))


def test_crashed_submit_is_unknown_even_with_a_single_unclaimed_execution(own_sandbox):
    """The reference promises no field of a listed execution (no creation time) that
    ties it to this POST, so Studio does not adopt it: a person decides."""
    user = make_user()
    generation = Generation.objects.create(
        team=user.teams.get(),
        created_by=user,
        prompt="crash after post",
        status=Status.SUBMITTING,
        submitted_at=timezone.now(),
    )
    # The POST reached VideoGen, then the worker died before saving the id.
    own_sandbox.generate_image(prompt="crash after post")
    Generation.objects.filter(pk=generation.pk).update(updated_at=_overdue())

    reconcile.run(now=timezone.now())

    generation.refresh_from_db()
    assert generation.status == Status.UNKNOWN
    assert generation.remote_execution_id is None
    assert "Submit again" in generation.error_message
    assert len(own_sandbox.list_executions(limit=100).items) == 1, "nothing was posted again"


def test_crashed_submit_with_no_candidate_is_marked_unknown_not_reposted(own_sandbox):
    user = make_user()
    generation = Generation.objects.create(
        team=user.teams.get(),
        created_by=user,
        prompt="crash before post",
        status=Status.SUBMITTING,
        submitted_at=timezone.now(),
    )
    Generation.objects.filter(pk=generation.pk).update(updated_at=_overdue())

    reconcile.run(now=timezone.now())

    generation.refresh_from_db()
    assert generation.status == Status.UNKNOWN
    assert "Submit again" in generation.error_message
    assert own_sandbox.list_executions(limit=100).items == ()


def test_crashed_submit_with_two_candidates_is_unknown(own_sandbox):
    user = make_user()
    team = user.teams.get()
    generation = Generation.objects.create(
        team=team,
        created_by=user,
        prompt="ambiguous",
        status=Status.SUBMITTING,
        submitted_at=timezone.now(),
    )
    own_sandbox.generate_image(prompt="one")
    own_sandbox.generate_image(prompt="two")
    Generation.objects.filter(pk=generation.pk).update(updated_at=_overdue())

    reconcile.run(now=timezone.now())

    generation.refresh_from_db()
    assert generation.status == Status.UNKNOWN
    assert generation.remote_execution_id is None


def test_unreachable_api_puts_the_submit_back_in_the_queue(db, settings):
    settings.VIDEOGEN_BASE_URL = "http://127.0.0.1:9"  # nothing listens: connection refused
    user = make_user()
    generation = Generation.objects.create(team=user.teams.get(), created_by=user, prompt="later")

    delay = pipeline.submit(generation.pk)

    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    assert delay is not None and delay > 0
