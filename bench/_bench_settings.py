"""Studio's settings plus a URLconf with one extra view, for bench/updates_request.py only."""

from studio.settings import *  # noqa: F403

ROOT_URLCONF = "bench._bench_urls"
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405
