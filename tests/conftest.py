"""Shared fixtures: real Redis, a real Celery worker, the real sandbox over HTTP."""

from __future__ import annotations

import shutil
import time

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings

from studio.celery import app as celery_app

pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.factories", "tests.fixtures.browser"]


@pytest.fixture
def videogen(settings, sandbox):
    """Point the studio at this session's sandbox."""
    settings.VIDEOGEN_BASE_URL = sandbox.base_url
    settings.VIDEOGEN_API_KEY = sandbox.api_key
    return sandbox


@pytest.fixture
def celery_worker(transactional_db, videogen):
    """A real Celery worker (threads in this process) consuming from real Redis.

    This run's Redis keys are deleted first, so no message from an earlier
    test (ids are reused after a flush) reaches this one.
    """
    delete_redis_keys()
    with start_worker(
        celery_app,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=10,
    ) as worker:
        yield worker


def delete_redis_keys() -> None:
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"{django_settings.REDIS_KEY_PREFIX}*", count=1000))
    if keys:
        client.delete(*keys)


def pytest_sessionfinish(session):
    # Each test process removes what it left in Redis and its own var/ directory.
    from django.conf import settings

    if settings.configured and hasattr(settings, "TEST_RUN_ID"):
        delete_redis_keys()
        shutil.rmtree(settings.VAR_DIR, ignore_errors=True)


def wait_for(predicate, *, timeout: float = 20.0, interval: float = 0.05, message=""):
    """Poll `predicate` until it returns something truthy; fail with `message` (a
    string, or a function giving one) on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    if callable(message):  # built only on failure, from the state at that moment
        message = message()
    pytest.fail(message or f"condition not met within {timeout}s")
