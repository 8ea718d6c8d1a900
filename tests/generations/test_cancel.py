"""POST /generations/<pk>/cancel/: at once locally, and on VideoGen through the worker."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.generations.models import Generation, Status
from studio.generations.services import generation_create
from studio.teams.models import Membership, Team
from studio.videogen import VideoGenClient
from tests.conftest import wait_for
from tests.fixtures.factories import make_user, tasks_on_commit

HTMX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def slow_sandbox(sandbox_factory):
    """A sandbox whose executions run for 30 s: long enough to be caught in flight."""
    sandbox = sandbox_factory("--running-seconds", "30")
    yield sandbox
    sandbox.stop()


@pytest.fixture
def slow_videogen(celery_worker, settings, slow_sandbox):
    # After celery_worker, which pointed the settings at the session's quick sandbox.
    settings.VIDEOGEN_BASE_URL = slow_sandbox.base_url
    settings.VIDEOGEN_API_KEY = slow_sandbox.api_key
    return VideoGenClient(base_url=slow_sandbox.base_url, api_key=slow_sandbox.api_key)


def _cancel(client, generation, *, htmx: bool):
    return client.post(
        reverse("generation_cancel", args=[generation.pk]), headers=HTMX if htmx else {}
    )


def _in_flight_remotely(generation):
    generation.refresh_from_db()
    return generation.status in (Status.PENDING, Status.RUNNING) and generation.remote_execution_id


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_cancel_in_flight_is_immediate_here_and_reaches_videogen(client, slow_videogen, htmx):
    user = make_user()
    client.force_login(user)
    generation = generation_create(team=user.teams.get(), user=user, prompt="a slow lighthouse")
    wait_for(lambda: _in_flight_remotely(generation), message="never reached VideoGen")
    execution_id = generation.remote_execution_id
    assert slow_videogen.get_execution(execution_id).status in ("pending", "running")

    response = _cancel(client, generation, htmx=htmx)

    # Locally: cancelled in the answer itself, before any worker has run.
    generation.refresh_from_db()
    assert generation.status == Status.CANCELLED
    assert generation.finished_at is not None
    if htmx:
        assert response.status_code == 200
        html = response.content.decode()
        assert f'id="generation-{generation.pk}"' in html
        assert 'data-status="cancelled"' in html
        assert "Cancelled." in html
        assert reverse("generation_cancel", args=[generation.pk]) not in html
    else:
        assert response.status_code == 302
        assert response["Location"] == "/"
    # Remotely: the worker cancels the execution.
    wait_for(
        lambda: slow_videogen.get_execution(execution_id).status == "cancelled",
        timeout=10,
        message="the execution is still running on VideoGen",
    )
    # A poll that was already scheduled does not bring it back to life.
    generation.refresh_from_db()
    assert generation.status == Status.CANCELLED
    assert not generation.results.exists()


FINISHED = {
    status: f"This generation has already finished ({label}); there is nothing to cancel."
    for status, label in [
        (Status.SUCCEEDED, "succeeded"),
        (Status.FAILED, "failed"),
        (Status.CANCELLED, "cancelled"),
        (Status.UNKNOWN, "outcome unknown"),
    ]
}


@pytest.fixture
def finished(team, user):
    def make(status):
        return Generation.objects.create(
            team=team,
            created_by=user,
            prompt="done already",
            status=status,
            remote_execution_id=f"vg_exec_{status}",
        )

    return make


@pytest.mark.parametrize("status", FINISHED.keys())
def test_cancel_of_a_finished_generation_shows_a_notice_on_the_card(
    client_in, finished, team, status
):
    generation = finished(status)
    seq = Team.objects.get(pk=team.pk).change_seq

    response = _cancel(client_in, generation, htmx=True)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<article id="generation-{generation.pk}"')
    assert f'data-status="{status}"' in html
    assert f'<p class="card__notice" role="status">{FINISHED[status]}</p>' in html
    _assert_unchanged(generation, status, seq)


@pytest.mark.parametrize("status", FINISHED.keys())
def test_cancel_of_a_finished_generation_without_htmx_is_a_400(
    client_in, finished, team, status
):
    generation = finished(status)
    seq = Team.objects.get(pk=team.pk).change_seq

    response = _cancel(client_in, generation, htmx=False)

    assert response.status_code == 400
    assert response.content.decode() == FINISHED[status]
    _assert_unchanged(generation, status, seq)


def _assert_unchanged(generation, status, seq):
    before = generation.updated_at
    generation.refresh_from_db()
    assert generation.status == status
    assert generation.updated_at == before
    assert generation.finished_at is None
    assert Team.objects.get(pk=generation.team_id).change_seq == seq


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_another_teams_generation_is_not_found(client_in, htmx):
    other = make_user()
    generation = Generation.objects.create(
        team=other.teams.get(), created_by=other, prompt="not yours", status=Status.RUNNING
    )

    response = _cancel(client_in, generation, htmx=htmx)

    assert response.status_code == 404
    generation.refresh_from_db()
    assert generation.status == Status.RUNNING


def test_unknown_generation_is_not_found(client_in):
    assert client_in.post(reverse("generation_cancel", args=[987654])).status_code == 404


def test_a_viewer_cannot_cancel(client_in, team, user):
    Membership.objects.filter(user=user).update(role=Membership.Role.VIEWER)
    generation = Generation.objects.create(team=team, created_by=user, prompt="p")

    response = _cancel(client_in, generation, htmx=True)

    assert response.status_code == 403
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED


def test_get_is_not_allowed(client_in, team, user):
    generation = Generation.objects.create(team=team, created_by=user, prompt="p")

    response = client_in.get(reverse("generation_cancel", args=[generation.pk]))

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED


def test_cancel_of_a_queued_generation_needs_no_call_to_videogen(
    client_in, team, user, django_capture_on_commit_callbacks
):
    generation = Generation.objects.create(team=team, created_by=user, prompt="p")

    with django_capture_on_commit_callbacks() as callbacks:
        response = _cancel(client_in, generation, htmx=True)

    assert response.status_code == 200
    generation.refresh_from_db()
    assert generation.status == Status.CANCELLED
    assert tasks_on_commit(callbacks) == [], "no remote execution, so no cancel task"
