"""publish() to the hub: one subscription per process, on Redis and on the
embedded broker's SQLite store; events reach the team's streams only, and
only once the writing transaction commits."""

from __future__ import annotations

import asyncio
import threading

import pytest
import redis
from django.db import transaction

from studio import live
from studio.live import backends
from studio.live.hub import Hub


@pytest.fixture(params=["redis", "embedded"])
def broker(request, settings, tmp_path):
    settings.STUDIO_LIVE_PUSH = True
    if request.param == "embedded":
        settings.REDIS_URL = ""
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"path": str(tmp_path / "broker.sqlite3")}
        settings.STUDIO_LIVE_POLL_INTERVAL = 0.02
    return request.param


def _run(coroutine, timeout=10):
    # On a thread of its own: Playwright's sync API (the e2e tests in this same
    # process) leaves an event loop running in the main thread.
    outcome = {}

    def run():
        try:
            outcome["value"] = asyncio.run(asyncio.wait_for(coroutine, timeout))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


async def _subscribed(hub: Hub, *teams):
    queues = [hub.subscribe(team) for team in teams]
    await asyncio.sleep(0.3)  # the one subscription is up (Redis SUBSCRIBE, or the first read)
    return queues


def _publish_from_another_thread(*calls):
    # As a worker or a view would: plain sync code, another thread.
    def send():
        for team, payload in calls:
            live.publish(team, "change", payload)

    thread = threading.Thread(target=send)
    thread.start()
    thread.join()


def test_an_event_reaches_every_stream_of_its_team_and_no_other(broker):
    def subscribers() -> int:
        if broker != "redis":
            return 0
        from django.conf import settings

        client = redis.Redis.from_url(settings.REDIS_URL)
        return dict(client.pubsub_numsub(backends.channel()))[backends.channel().encode()]

    async def scenario():
        hub = Hub()
        before = subscribers()  # other hubs of this test process (e2e servers) may linger
        a1, a2, b = await _subscribed(hub, 1, 1, 2)
        _publish_from_another_thread((1, {"seq": 7}))
        for queue in (a1, a2):
            event, payload = await asyncio.wait_for(queue.get(), 3)
            assert (event, payload["seq"]) == ("change", 7)
            assert payload["t"] > 0
        await asyncio.sleep(0.2)
        assert b.empty()
        assert hub.open_streams() == 3
        hub.unsubscribe(1, a1)
        assert hub.open_streams() == 2
        # One subscription for the whole process, however many streams.
        if broker == "redis":
            assert subscribers() - before == 1
        hub._task.cancel()

    _run(scenario())


def test_events_come_in_order_and_none_is_lost(broker):
    async def scenario():
        hub = Hub()
        (queue,) = await _subscribed(hub, 5)
        _publish_from_another_thread(*((5, {"seq": n}) for n in range(20)))
        seen = [(await asyncio.wait_for(queue.get(), 3))[1]["seq"] for _ in range(20)]
        assert seen == list(range(20))
        hub._task.cancel()

    _run(scenario())


@pytest.mark.django_db(transaction=True)
def test_a_change_is_pushed_after_commit_and_not_after_rollback(broker):
    from studio.teams.models import Team

    team = Team.objects.create(name="Harbour")

    async def scenario():
        hub = Hub()
        (queue,) = await _subscribed(hub, team.pk)

        def write(fail: bool):
            try:
                with transaction.atomic():
                    team.next_change_seq()
                    if fail:
                        raise RuntimeError("rolled back")
            except RuntimeError:
                pass

        await asyncio.to_thread(write, True)
        await asyncio.sleep(0.3)
        assert queue.empty()
        await asyncio.to_thread(write, False)
        event, payload = await asyncio.wait_for(queue.get(), 3)
        assert payload["seq"] == 1  # the rolled-back bump went with its transaction
        hub._task.cancel()

    _run(scenario())


def test_push_off_publishes_nothing(broker, settings):
    settings.STUDIO_LIVE_PUSH = False
    assert live.publish(1) is False


def test_a_broken_broker_never_fails_the_write(settings):
    settings.STUDIO_LIVE_PUSH = True
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    backends._redis_clients.clear()
    assert live.publish(1) is False
