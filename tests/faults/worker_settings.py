"""Settings of the Celery worker and beat processes that fault tests start, kill
and restart: Studio's real settings, pointed at the running test's database,
Redis keys and media (tests/faults/conftest.py passes them in the environment).
Nothing else differs from production: the same tasks, queues, acks_late and
reject_on_worker_lost."""

import os

from studio.settings import *  # noqa: F403

# The test database pytest-django created (a file for SQLite, a name for PostgreSQL).
DATABASES["default"]["NAME"] = os.environ["STUDIO_FAULTS_DB_NAME"]  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# The test's Redis keys: broker, cache and rate limiter under its prefix.
CELERY_BROKER_TRANSPORT_OPTIONS = {  # noqa: F405
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "global_keyprefix": REDIS_KEY_PREFIX,  # noqa: F405
}
CACHES["default"]["KEY_PREFIX"] = REDIS_KEY_PREFIX  # noqa: F405
