#!/usr/bin/env python
"""The gallery's "nothing changed" update request against a bare 204 view, side
by side in one run, and the queries each makes.

    .venv/bin/python bench/updates_request.py [--requests 3000] [--gallery 10000]
    .venv/bin/python bench/updates_request.py --smoke  # 50 requests, 200 generations

GET /generations/updates/?cursor=<current> with HX-Request (the request every
open studio page sends every 2 s; it answers 204 while work is in flight)
against GET /bench/bare/, a view that only answers 204, added by the
benchmark's own URLconf (bench/_bench_urls.py). Both go through Studio's
whole middleware stack (session, auth, login required, current team, CSP,
htmx) in Django's test client, in this process, alternately, with
production settings (DEBUG off). A small team and a large one (--gallery
generations, 3 in flight) show the answer's cost does not grow with the
gallery. Target: at most 1.5x the bare view; no query beyond session,
user, membership/team and the in-flight check.
"""

from __future__ import annotations

import argparse
import time

from _harness import Stack, median, percentile

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench._bench_settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-only-not-a-secret",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "REDIS_URL": "",  # no broker needed: nothing is enqueued here
    "STUDIO_LOG_LEVEL": "WARNING",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="timed requests per URL")
    parser.add_argument("--gallery", type=int, default=10_000, help="generations, large team")
    parser.add_argument("--smoke", action="store_true",
                        help="50 requests, 200 generations; the time target is not gated")
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.gallery = 50, 200
    stack = Stack("updates", env=BENCH_ENV)
    stack._setup_django()
    try:
        return run(args)
    finally:
        stack.stop()


def seed(name: str, size: int):
    from django.utils import timezone

    from studio.generations.models import Generation, Status
    from studio.teams.models import Team
    from tests.fixtures.factories import make_user

    user = make_user(name)
    team = user.teams.get()
    now = timezone.now()
    rows = [
        Generation(team=team, created_by=user, prompt=f"p{n}", status=Status.SUCCEEDED,
                   progress=100, ingested_at=now, created_seq=n + 1, seq=n + 1)
        for n in range(size)
    ]
    rows += [
        Generation(team=team, created_by=user, prompt=f"r{n}", status=Status.RUNNING,
                   created_seq=size + n + 1, seq=size + n + 1)
        for n in range(3)
    ]
    Generation.objects.bulk_create(rows, batch_size=1000)
    Team.objects.filter(pk=team.pk).update(change_seq=size + 3)
    return user, size + 3


def run(args) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    print(f"Database: {connection.vendor}")
    htmx = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}
    clients, teams = {}, {}
    for name, size in (("small", 10), ("large", args.gallery)):
        user, cursor = seed(f"bench-{name}", size)
        teams[name] = user.teams.get()
        client = Client()
        client.force_login(user)
        clients[name] = (client, f"/generations/updates/?cursor={cursor}")

    # The answers are what the page expects, and the queries are these.
    client, updates_url = clients["large"]
    for url in (updates_url, "/bench/bare/"):
        response = client.get(url, headers=htmx)
        assert response.status_code == 204, (url, response.status_code)
    queries = {}
    for label, url in (("updates", updates_url), ("bare", "/bench/bare/")):
        with CaptureQueriesContext(connection) as captured:
            client.get(url, headers=htmx)
        queries[label] = [q["sql"] for q in captured.captured_queries]

    timings: dict[str, list[float]] = {"bare": [], "updates small": [], "updates large": []}
    order = [("bare", clients["large"][0], "/bench/bare/"),
             ("updates small", *clients["small"]),
             ("updates large", *clients["large"])]
    for _ in range(20 if args.smoke else 200):  # warm-up
        for _, c, url in order:
            c.get(url, headers=htmx)
    for _ in range(args.requests):
        for label, c, url in order:
            started = time.perf_counter()
            c.get(url, headers=htmx)
            timings[label].append((time.perf_counter() - started) * 1000)

    bare = median(timings["bare"])
    print(f"\nNo-change update vs bare 204 ({args.requests} requests each, interleaved):")
    for label, values in timings.items():
        print(f"  {label:14s} median {median(values):6.3f} ms   p95 "
              f"{percentile(values, 0.95):6.3f} ms   {median(values) / bare:4.2f}x bare")
    print(f"  gallery of {args.gallery:,} vs 10 generations: "
          f"{median(timings['updates large']) / median(timings['updates small']):.2f}x")
    for label, sqls in queries.items():
        print(f"\n  {label}: {len(sqls)} queries")
        for sql in sqls:
            print(f"    {sql[:150]}")
    extra = len(queries["updates"]) - len(queries["bare"])
    print(f"\n  queries beyond the bare view's (session, user, membership+team): {extra}")
    ratio = median(timings["updates large"]) / bare
    proposal = _in_flight_check_alone(teams["large"])
    print(f"\n  The in-flight check alone, large team: one OR query {proposal[0]:.3f} ms; "
          f"as the view does it (two EXISTS on the index): {proposal[1]:.3f} ms")
    met = (args.smoke or ratio <= 1.5) and extra <= 1
    print(f"\n  target (large gallery at most 1.5x bare, one extra query): "
          f"{'met' if met else 'MISSED'} ({ratio:.2f}x, {extra} extra)")
    return 0 if met else 1


def _in_flight_check_alone(team) -> tuple[float, float]:
    """The view's one extra query: one OR query, and the product's split into
    two index probes on (team, status, ingested_at), side by side."""
    from studio.generations.models import Generation

    def one_query():
        return Generation.objects.for_team(team).in_flight().exists()

    def split():
        return Generation.objects.for_team(team).has_in_flight()

    def timed(check) -> float:
        values = []
        for _ in range(500):
            started = time.perf_counter()
            assert check()
            values.append((time.perf_counter() - started) * 1000)
        return median(values)

    return timed(one_query), timed(split)


if __name__ == "__main__":
    raise SystemExit(main())
