"""Settings for the test suite: the real settings, pointed at real Redis and
made quick. Each pytest-xdist worker gets its own Redis database and var/ dir."""

import os
import re

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_index = int(re.sub(r"\D", "", _worker) or 0)
os.environ.setdefault("REDIS_URL_BASE", "redis://127.0.0.1:6379")
os.environ["REDIS_URL"] = f"{os.environ['REDIS_URL_BASE']}/{1 + _index % 15}"
os.environ["STUDIO_VAR_DIR"] = os.path.join(os.path.dirname(__file__), "..", "var", f"test-{_worker}")
os.environ.pop("VIDEOGEN_API_KEY", None)  # never the real API from tests

from studio.settings import *  # noqa: E402,F403

# Test runs close connections after each task and request: threads come and go.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STUDIO_POLL_FIRST_DELAY = 0.2
STUDIO_POLL_BACKOFF = 1.2
STUDIO_POLL_MAX_DELAY = 1.0
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
