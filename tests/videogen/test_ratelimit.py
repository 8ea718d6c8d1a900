"""The shared rate limiter: token buckets in real Redis, one for every worker.

Separate limiter instances with their own Redis connections stand for separate
worker processes; one test also runs a real second process.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

import pytest
import redis
from django.conf import settings

from studio.generations.models import Generation, Status
from studio.generations.services import generation_create
from studio.videogen import RateLimitedError, VideoGenClient, client_from_settings
from studio.videogen.ratelimit import (
    Limit,
    LocalRateLimiter,
    RateLimitInfo,
    RedisRateLimiter,
    SqliteRateLimiter,
    group_for,
    parse_limits,
)
from tests.conftest import wait_for
from tests.fixtures.factories import make_user


def redis_limiter(namespace: str, **limits: str) -> RedisRateLimiter:
    """A limiter with its own connection, as a separate worker process would have."""
    connection = redis.Redis.from_url(settings.REDIS_URL)
    return RedisRateLimiter(
        connection, parse_limits(",".join(f"{g}={r}" for g, r in limits.items())),
        namespace=namespace,
    )


@pytest.fixture
def namespace():
    name = f"{settings.REDIS_KEY_PREFIX}rl-test-{uuid.uuid4().hex[:8]}"
    yield name
    connection = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(connection.scan_iter(match=f"{name}*"))
    if keys:
        connection.delete(*keys)


# --- settings and groups ----------------------------------------------------------


def test_limits_are_read_from_the_setting_text():
    assert parse_limits("tools=60/60, executions=600/30") == {
        "tools": Limit(60, 60.0),
        "executions": Limit(600, 30.0),
    }
    assert parse_limits("off") == parse_limits("") == {}


@pytest.mark.parametrize("text", ["tools=60", "tools=x/60", "videos=1/1", "tools=0/60", "tools"])
def test_a_malformed_limit_is_refused_not_guessed(text):
    with pytest.raises(ValueError, match="GROUP=REQUESTS/SECONDS"):
        parse_limits(text)


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/v1/tools/generate-image", "tools"),
        ("/v1/tools/upscale-image", "tools"),
        ("/v1/tools/executions/vg_exec_1", "executions"),
        ("/v1/tools/executions", "executions"),
        ("/v1/tools/executions/vg_exec_1/cancel", "cancel"),
        ("/v1/files/vg_file_1", "files"),
        ("/v1/files", "files"),
        ("/v1/files/vg_file_1/hydrate", "hydrate"),
        ("/v1/files/upload", "uploads"),
        ("/v1/files/search", "search"),
        ("/v1/resources/voices", "resources"),
        ("/v1/webhooks/endpoints", "webhooks_list"),
        ("/_storage/download/vg_file_1", None),
    ],
)
def test_each_path_counts_in_videogens_group(path, group):
    assert group_for(path) == group


def test_webhook_calls_count_by_method():
    assert group_for("/v1/webhooks/endpoints", "POST") == "webhooks_create"
    assert group_for("/v1/webhooks/endpoints/vg_whep_1", "DELETE") == "webhooks_delete"


def test_the_webhooks_shorthand_limits_each_webhook_group():
    assert parse_limits("webhooks=30/60") == {
        group: Limit(30, 60.0) for group in ("webhooks_list", "webhooks_create", "webhooks_delete")
    }


# --- the bucket in Redis ------------------------------------------------------------


def test_a_window_lets_its_calls_through_then_waits_for_its_end(namespace):
    limiter = redis_limiter(namespace, executions="3/3")  # not paced: a window of 3

    assert [limiter.acquire("executions") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("executions")

    assert 2.8 <= wait <= 3.0  # the window's end, not a refill
    assert limiter.acquire("files") == 0.0  # no limit set for that group


def test_tool_calls_are_spread_evenly_over_the_window(namespace):
    limiter = redis_limiter(namespace, tools="10/30")  # one every 3 s, a burst of 1

    assert limiter.acquire("tools") == 0.0
    assert 2.9 <= limiter.acquire("tools") <= 3.0
    state = limiter.state("tools")
    assert (state.limit, state.left, state.used) == (10, 9, 1)
    # The 4th next call: 3, 6 and 9 s from now (the window still has 9 calls).
    assert 8.9 <= state.wait_for(3, time.time()) <= 9.0


def test_videogens_headers_correct_the_window(namespace):
    limiter = redis_limiter(namespace, executions="100/60")
    assert limiter.acquire("executions") == 0.0
    now = time.time()
    # Another client on the key spent most of it: VideoGen's count wins.
    limiter.observe("executions", RateLimitInfo("executions", 100, 2, now + 40))
    assert limiter.acquire("executions") == limiter.acquire("executions") == 0.0
    assert 39 <= limiter.acquire("executions") <= 41
    assert limiter.state("executions").left == 0


def test_tokens_come_back_with_time(namespace):
    limiter = redis_limiter(namespace, files="2/0.4")  # a token every 0.2 s
    assert limiter.acquire("files") == limiter.acquire("files") == 0.0
    assert limiter.acquire("files") > 0

    time.sleep(0.45)

    assert limiter.acquire("files") == 0.0


def test_two_threads_with_their_own_connections_share_one_bucket(namespace):
    granted: list[int] = []

    def worker():
        limiter = redis_limiter(namespace, executions="10/60")
        granted.append(sum(1 for _ in range(20) if limiter.acquire("executions") == 0.0))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(granted) == 10, granted


SECOND_PROCESS = """
import sys, redis
from studio.videogen.ratelimit import RedisRateLimiter, SqliteRateLimiter, parse_limits
limits = parse_limits("executions=10/60")
if sys.argv[1].startswith("redis"):
    limiter = RedisRateLimiter(redis.Redis.from_url(sys.argv[1]), limits, namespace=sys.argv[2])
else:
    limiter = SqliteRateLimiter(sys.argv[1], limits, namespace=sys.argv[2])
print(sum(1 for _ in range(10) if limiter.acquire("executions") == 0.0))
"""


@pytest.mark.parametrize("store", ["redis", "embedded broker"])
def test_another_process_draws_from_the_same_budget(namespace, store, tmp_path):
    """Two worker processes, one budget: what one took, the other cannot (no overdraw)."""
    if store == "redis":
        here, where = redis_limiter(namespace, executions="10/60"), settings.REDIS_URL
    else:
        where = str(tmp_path / "broker.sqlite3")
        here = SqliteRateLimiter(where, parse_limits("executions=10/60"), namespace=namespace)
    assert sum(1 for _ in range(6) if here.acquire("executions") == 0.0) == 6

    others = [
        subprocess.Popen(
            [sys.executable, "-c", SECOND_PROCESS, where, namespace],
            stdout=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    granted = [int(other.communicate(timeout=30)[0]) for other in others]

    assert sum(granted) == 4, granted  # only what this process left, shared by both
    assert here.state("executions").left == 0


def test_a_pause_set_by_one_worker_holds_back_the_others(namespace):
    one = redis_limiter(namespace, tools="100/60")
    other = redis_limiter(namespace, tools="100/60")

    one.pause("tools", 2.0)
    one.pause("tools", 0.5)  # a shorter pause does not cut the longer one

    assert 1.8 <= other.acquire("tools") <= 2.0
    assert other.acquire("files") == 0.0  # only that group


def test_redis_down_lets_calls_through_instead_of_stopping_work():
    dead = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.5)
    limiter = RedisRateLimiter(dead, parse_limits("tools=1/60"), namespace="nowhere")

    assert limiter.acquire("tools") == limiter.acquire("tools") == 0.0
    limiter.pause("tools", 5)  # logged, not raised


def test_the_per_process_fallback_paces_the_same_way():
    clock = [100.0]
    limiter = LocalRateLimiter(parse_limits("tools=2/2"), clock=lambda: clock[0])

    assert limiter.acquire("tools") == 0.0
    assert limiter.acquire("tools") == pytest.approx(1.0)  # the pace: one a second
    clock[0] += 1.0
    assert limiter.acquire("tools") == 0.0
    assert limiter.acquire("tools") == pytest.approx(1.0)  # the window (2) is spent
    clock[0] += 1.0
    assert limiter.acquire("tools") == 0.0  # a new window
    limiter.pause("tools", 3)
    assert limiter.acquire("tools") == pytest.approx(3.0)


def test_settings_choose_redis_or_the_per_process_fallback(settings, tmp_path):
    settings.STUDIO_RATE_LIMITS = "tools=7/60"
    assert isinstance(client_from_settings()._limiter, RedisRateLimiter)
    settings.REDIS_URL = ""  # the embedded broker: its file holds the budget
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"path": str(tmp_path / "broker.sqlite3")}
    assert isinstance(client_from_settings()._limiter, SqliteRateLimiter)
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    assert isinstance(client_from_settings()._limiter, LocalRateLimiter)
    settings.STUDIO_RATE_LIMITS = "off"
    assert client_from_settings()._limiter is None


# --- through the client, against the sandbox -----------------------------------------


def sandbox_client(box, namespace: str, limits: str) -> VideoGenClient:
    limiter = RedisRateLimiter(
        redis.Redis.from_url(settings.REDIS_URL), parse_limits(limits), namespace=namespace
    )
    return VideoGenClient(base_url=box.base_url, api_key=box.api_key, rate_limiter=limiter)


def test_a_spent_window_refuses_before_sending_anything(sandbox_factory, namespace):
    box = sandbox_factory()
    client = sandbox_client(box, namespace, "tools=2/60,executions=2/60")

    execution_id = client.generate_image(prompt="one")
    with pytest.raises(RateLimitedError) as paced:
        client.generate_image(prompt="too soon")
    assert 25 <= paced.value.retry_after <= 30  # the pace: 2 per 60 s
    client.get_execution(execution_id)
    client.get_execution(execution_id)
    with pytest.raises(RateLimitedError) as refused:
        client.get_execution(execution_id)

    assert refused.value.code == "rate_limited_locally"
    assert refused.value.status is None
    assert 55 <= refused.value.retry_after <= 60  # the window's end
    assert box.stats()["requests"]["POST /v1/tools/generate-image"] == 1
    assert box.stats()["requests"]["GET /v1/tools/executions/{execution_id}"] == 2


def test_a_spent_group_pauses_every_worker_until_its_reset(sandbox_factory, namespace):
    box = sandbox_factory("--rate-limit-profile", "strict")  # tools: 5 per 10 s
    # Studio's own limits are set above VideoGen's here: only VideoGen's headers pace.
    first = sandbox_client(box, namespace, "tools=100/10")
    second = sandbox_client(box, namespace, "tools=100/10")
    for n in range(5):
        first.generate_image(prompt=f"burst {n}")

    # The fifth answer said X-RateLimit-Remaining: 0, so nobody sends a sixth.
    spent = first.rate_limit("tools")
    assert spent.remaining == 0 and spent.limit == 5 and spent.reset_at > time.time()
    with pytest.raises(RateLimitedError) as held_back:
        second.generate_image(prompt="the other worker")

    assert held_back.value.code == "rate_limited_locally"
    assert 0 < held_back.value.retry_after <= spent.reset_at - time.time() + 1
    assert box.stats()["requests"]["POST /v1/tools/generate-image"] == 5
    assert "429" not in box.stats()["responses"]
    assert second.list_executions(limit=1).items  # reads are another group: not paused


def test_a_429_from_videogen_pauses_the_other_worker_too(sandbox_factory, namespace):
    box = sandbox_factory()
    first = sandbox_client(box, namespace, "tools=100/10")
    second = sandbox_client(box, namespace, "tools=100/10")
    box.faults(rate_limited_share={"tools": 1.0})

    with pytest.raises(RateLimitedError) as from_videogen:
        first.generate_image(prompt="refused")
    with pytest.raises(RateLimitedError) as held_back:
        second.generate_image(prompt="the other worker")

    assert from_videogen.value.status == 429 and from_videogen.value.retry_after > 0
    assert held_back.value.code == "rate_limited_locally"
    assert 0 < held_back.value.retry_after <= from_videogen.value.retry_after
    assert box.stats()["requests"]["POST /v1/tools/generate-image"] == 1


def test_queued_work_waits_for_a_call_without_a_request(
    settings, sandbox_factory, celery_worker
):
    box = sandbox_factory()
    settings.VIDEOGEN_BASE_URL = box.base_url
    settings.STUDIO_RATE_LIMITS = "tools=1/60"
    user = make_user()
    team = user.teams.get()
    first = generation_create(team=team, user=user, prompt="goes now")
    wait_for(lambda: Generation.objects.get(pk=first.pk).remote_execution_id)
    second = generation_create(team=team, user=user, prompt="waits its turn")
    time.sleep(1.5)  # the dispatcher ran (the nudge of the new generation) and found no call

    second.refresh_from_db()
    assert second.status == Status.QUEUED
    assert second.dispatched_at is None and second.submitted_at is None
    assert box.stats()["requests"]["POST /v1/tools/generate-image"] == 1
    assert box.stats()["executions"] == {"GENERATE_IMAGE": 1}


def test_a_pause_holds_in_redis_for_a_group_without_a_bucket(namespace):
    limiter = redis_limiter(namespace, tools="3/3")
    other_worker = redis_limiter(namespace, tools="3/3")

    limiter.pause("hydrate", 5)

    assert 4 < other_worker.acquire("hydrate") <= 5
    assert other_worker.acquire("uploads") == 0.0
