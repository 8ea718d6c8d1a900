"""Polling hugs an execution's expected end: from two looks at its progress,
the next poll comes just after the end the pace predicts, not at the backoff's
next step. Real parts: the sandbox over HTTP, Redis, a Celery worker."""

from __future__ import annotations

import pytest

from studio.generations.models import Generation, Status
from studio.generations.pipeline import (
    EXPECTED_END_MARGIN,
    POLL_SOONEST,
    expected_remaining,
    next_check_delay,
)
from studio.generations.services import generation_create
from studio.webhooks.selectors import forget_webhooks_enabled
from tests.conftest import wait_for
from tests.fixtures.factories import make_user

PENDING, RUNNING = 0.5, 3.5


def test_the_pace_of_two_looks_gives_the_time_left():
    # 20 % at t=10, 40 % at t=12: 10 % a second, 60 % to go.
    assert expected_remaining((10.0, 20), (12.0, 40)) == pytest.approx(6.0)


@pytest.mark.parametrize("before, now", [
    (None, (12.0, 40)),          # one look only
    ((12.0, 20), (12.0, 40)),    # no time between them
])
def test_without_a_pace_there_is_no_guess(before, now):
    assert expected_remaining(before, now) is None


def test_no_movement_waits_as_long_as_it_has_stood_still():
    # Still 99 % two seconds after it got there: near its end, or stalled; a
    # stall is then asked after 2, 4, 8 s..., not every POLL_SOONEST.
    assert expected_remaining((10.0, 99), (12.0, 99)) == pytest.approx(2.0)


def test_the_next_poll_comes_just_after_the_expected_end(settings, db):
    # No webhook endpoint (this test's database), and none remembered from another test.
    forget_webhooks_enabled()
    settings.STUDIO_POLL_FIRST_DELAY, settings.STUDIO_POLL_BACKOFF = 1.5, 1.3
    settings.STUDIO_POLL_MAX_DELAY = 30.0
    backoff = 1.5 * 1.3**4
    assert next_check_delay(4) == pytest.approx(backoff)
    assert next_check_delay(4, remaining=1.0) == pytest.approx(1.0 + EXPECTED_END_MARGIN)
    # Never sooner than POLL_SOONEST, never later than the backoff.
    assert next_check_delay(4, remaining=0.01) == POLL_SOONEST
    assert next_check_delay(4, remaining=60.0) == pytest.approx(backoff)


@pytest.fixture
def steady_sandbox(celery_worker, sandbox_factory, settings):
    # After the worker: its fixture points Studio at the shared (quick) sandbox.
    sandbox = sandbox_factory("--pending-seconds", str(PENDING), "--running-seconds", str(RUNNING))
    settings.VIDEOGEN_BASE_URL = sandbox.base_url
    settings.VIDEOGEN_API_KEY = sandbox.api_key
    # The shipped schedule (tests otherwise poll every fraction of a second).
    settings.STUDIO_POLL_FIRST_DELAY, settings.STUDIO_POLL_BACKOFF = 1.5, 1.3
    settings.STUDIO_POLL_MAX_DELAY = 30.0
    yield sandbox
    sandbox.stop()


def test_polling_finds_the_end_soon_after_it_happens(steady_sandbox):
    user = make_user()
    generation = generation_create(team=user.teams.get(), user=user, prompt="a steady run")

    generation = wait_for(
        lambda: Generation.objects.filter(pk=generation.pk, ingested_at__isnull=False).first(),
        timeout=20, message="the generation did not land")

    assert generation.status == Status.SUCCEEDED
    # The execution ends PENDING + RUNNING after its POST (submitted_at is taken
    # just before it, so this end errs early). The backoff alone (looks at 1.5,
    # 3.0, 4.95 s) would find it about 0.95 s late.
    ended = generation.submitted_at.timestamp() + PENDING + RUNNING
    assert generation.finished_at.timestamp() - ended < 0.6
    # And not by polling all the time: the backoff's looks and one just after the end.
    assert generation.check_count <= 3
