"""Settings for the test suite: the real settings, pointed at real Redis and
made quick. Every test process (each pytest-xdist worker, each concurrent run)
has its own Redis key prefix and its own var/ directory, so runs never meet."""

import os

TEST_RUN_ID = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ["STUDIO_VAR_DIR"] = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "test-runs", TEST_RUN_ID
)
os.environ.pop("VIDEOGEN_API_KEY", None)  # never the real API from tests

from studio.settings import *  # noqa: E402,F403

REDIS_KEY_PREFIX = f"studio-test-{TEST_RUN_ID}:"
CELERY_BROKER_TRANSPORT_OPTIONS = {  # noqa: F405
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "global_keyprefix": REDIS_KEY_PREFIX,
}
CACHES["default"]["KEY_PREFIX"] = REDIS_KEY_PREFIX  # noqa: F405

# Test runs close connections after each task and request: threads come and go.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_studio_{TEST_RUN_ID.replace('-', '_')}"}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The test sandboxes run the "generous" profile (100x the documented table): so does Studio.
STUDIO_RATE_LIMITS = documented_rate_limits(100)  # noqa: F405
STUDIO_POLL_FIRST_DELAY = 0.2
STUDIO_POLL_BACKOFF = 1.2
STUDIO_POLL_MAX_DELAY = 1.0
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# The sign-up limit counts in the shared cache for the whole run; its own tests set it low.
STUDIO_SIGNUP_LIMIT = 10_000
