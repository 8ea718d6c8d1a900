"""Longer runs (make test-faults): many generations at once through the real
worker (a subprocess, on each broker) and sandbox, some cancelled on the way."""

import pytest
from django.db.models import Count

from studio.generations.models import Generation, Result, Status
from studio.generations.services import generation_cancel, generation_create
from studio.videogen import VideoGenClient
from tests.conftest import wait_for
from tests.fixtures.factories import make_user

pytestmark = pytest.mark.faults

GENERATIONS = 40


def _settled(team):
    return not Generation.objects.for_team(team).in_flight().exists()


def test_many_generations_each_end_once_with_their_results(
    settings, sandbox_factory, make_stack
):
    box = sandbox_factory("--pending-seconds", "0.3", "--running-seconds", "1.5")
    settings.VIDEOGEN_BASE_URL = box.base_url
    make_stack(box).start_worker(concurrency=4)
    api = VideoGenClient(base_url=box.base_url, api_key=box.api_key)
    user = make_user()
    team = user.teams.get()

    generations = [
        generation_create(team=team, user=user, prompt=f"soak {n}", num_results=1 + n % 3)
        for n in range(GENERATIONS)
    ]
    for generation in generations[::8]:  # cancel some while they are in flight
        generation_cancel(generation=generation)

    wait_for(lambda: _settled(team), timeout=120, interval=0.5, message="generations stuck")

    by_status = dict(
        Generation.objects.for_team(team).values_list("status").annotate(n=Count("pk"))
    )
    cancelled = len(generations[::8])
    assert by_status == {Status.SUCCEEDED: GENERATIONS - cancelled, Status.CANCELLED: cancelled}
    for generation in Generation.objects.for_team(team).filter(status=Status.SUCCEEDED):
        assert generation.results.count() == generation.num_results
    assert (
        not Result.objects.values("generation", "position").annotate(n=Count("pk")).filter(n__gt=1)
    )

    # Exactly one execution per submitted generation: nothing was posted twice.
    executions = []
    page = api.list_executions(limit=100)
    while True:
        executions += page.items
        if not page.next_cursor:
            break
        page = api.list_executions(limit=100, cursor=page.next_cursor)
    submitted = Generation.objects.for_team(team).exclude(remote_execution_id=None).count()
    assert len(executions) == submitted
    assert len({e.id for e in executions}) == len(executions)
