#!/usr/bin/env python
"""The gallery at 1,000 and at 100,000 results: does a page cost the same?

    .venv/bin/python bench/gallery_bench.py            # or: make bench
    .venv/bin/python bench/gallery_bench.py --runs 25 --large 200000
    .venv/bin/python bench/gallery_bench.py --smoke    # 200 and 2,000; queries gated only

Builds a throwaway database, fills two teams with `seed_gallery`, then asks
each for the gallery's first page and for a deep page (by cursor, 90% of the
way down), as a full page and as the fragment infinite scroll fetches, and a
search. Prints median timings over --runs requests and query counts, side by
side, and the ratio. Exits 1 if a page at the large size costs more than
twice the small one, or needs more queries.

The database is SQLite under var/bench/ (deleted first), or, with
DATABASE_URL set, a test database on that server (created and dropped, like
the test suite does: your data is not touched).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
LIMIT_RATIO = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000, help="results in the small team")
    parser.add_argument("--large", type=int, default=100_000, help="results in the large team")
    parser.add_argument("--runs", type=int, default=21, help="timed requests per page (median)")
    parser.add_argument("--smoke", action="store_true",
                        help="200 and 2,000 results, 3 runs; at that size only queries are gated")
    args = parser.parse_args()
    if args.smoke:
        args.small, args.large, args.runs = 200, 2_000, 3

    use_server = bool(os.environ.get("DATABASE_URL"))
    if not use_server:
        shutil.rmtree(BENCH_DIR, ignore_errors=True)
    os.environ["STUDIO_VAR_DIR"] = str(BENCH_DIR)  # SQLite file and media live here
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ.setdefault("STUDIO_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    # A real sandbox answers the search's description hits (VideoGen's file search):
    # with none, every search asked an API that is not there and timed the retries.
    from tests.fixtures.sandbox import start_sandbox

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    sandbox = start_sandbox(log_dir=BENCH_DIR)
    os.environ.pop("VIDEOGEN_API_KEY", None)
    os.environ.pop("VIDEOGEN_BASE_URL", None)
    os.environ["VIDEOGEN_SANDBOX_URL"] = sandbox.base_url
    try:
        return _main(args, use_server)
    finally:
        sandbox.stop()


def _main(args, use_server: bool) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if use_server:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    else:
        call_command("migrate", verbosity=0)
    try:
        return run(args, connection)
    finally:
        if use_server:
            connection.creation.destroy_test_db(
                connection.settings_dict["NAME"], verbosity=0, keepdb=False
            )


def run(args, connection) -> int:
    from django.conf import settings

    print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
    teams = {}
    for label, count in (("small", args.small), ("large", args.large)):
        started = time.monotonic()
        teams[label] = seed(f"bench-{count}", count)
        print(f"Seeded {count:,} results in {time.monotonic() - started:.1f} s")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    rows = []
    for name, path, headers in requests():
        targets = {label: (client, path(team)) for label, (team, client) in teams.items()}
        row = {"name": name, **measure(targets, headers, args.runs)}
        rows.append(row)
    return report(rows, args)


def seed(name: str, count: int):
    """A team of `count` results, and a client signed in as one of its members."""
    from django.core.management import call_command
    from django.test import Client

    from studio.teams.middleware import SESSION_KEY
    from studio.teams.models import Membership, Role, Team

    with open(os.devnull, "w") as quiet:
        call_command("seed_gallery", team=name, results=count, create=True, stdout=quiet)
    team = Team.objects.get(name=name)
    # Ratings (issue 15) as the discussion app keeps them on each result: a spread of
    # scores with many ties, so the rating sort's keyset crosses equal scores.
    from django.db.models import F

    from studio.generations.models import Result

    Result.objects.filter(team=team).update(rating_score=(F("id") * 37) % 41 * 10, rating_count=1)
    # A member, not the owner: members' galleries also apply the review rule.
    member = Membership.objects.filter(team=team, role=Role.MEMBER).select_related("user").first()
    client = Client()
    client.force_login(member.user)
    session = client.session
    session[SESSION_KEY] = team.pk
    session.save()
    return team, client


def deep_cursor(team, fraction=0.9) -> str:
    from studio.gallery.selectors import Cursor
    from studio.generations.models import Result

    total = Result.objects.filter(team=team).count()
    row = (
        Result.objects.filter(team=team)
        .order_by("-created_at", "-pk")
        .values("created_at", "pk")[int(total * fraction)]
    )
    return str(Cursor(row["created_at"], row["pk"]))


def deep_rating_cursor(team, fraction=0.9) -> str:
    from studio.gallery.selectors import Cursor
    from studio.generations.models import Result

    total = Result.objects.filter(team=team).count()
    row = (
        Result.objects.filter(team=team)
        .order_by("-rating_score", "-created_at", "-pk")
        .values("rating_score", "created_at", "pk")[int(total * fraction)]
    )
    return str(Cursor(row["created_at"], row["pk"], row["rating_score"]))


def requests():
    """(label, url for a team, extra headers): what people and infinite scroll ask for."""
    cursors = {}

    def deep(team):
        if team.pk not in cursors:
            cursors[team.pk] = deep_cursor(team)
        return f"/gallery/?cursor={cursors[team.pk]}"

    def deep_rated(team):
        key = ("rating", team.pk)
        if key not in cursors:
            cursors[key] = deep_rating_cursor(team)
        return f"/gallery/?sort=rating&cursor={cursors[key]}"

    fragment = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "gallery-more"}
    return [
        ("first page", lambda team: "/gallery/", {}),
        ("deep page (90%), full", deep, {}),
        ("deep page (90%), scroll", deep, fragment),
        ("search 'lighthouse'", lambda team: "/gallery/?q=lighthouse", {}),
        ("by team's rating, first", lambda team: "/gallery/?sort=rating", {}),
        ("by team's rating, deep (90%)", deep_rated, fragment),
    ]


def measure(targets: dict, headers: dict, runs: int) -> dict:
    """Median time, queries and tiles per target. Small and large requests take
    turns, so whatever else the machine does weighs on both alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    out, timings = {}, {label: [] for label in targets}
    for label, (client, url) in targets.items():
        for _ in range(3):  # warm caches and connections
            response = client.get(url, **headers)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, **headers)
        tiles = response.content.decode().count('class="tile"')
        out[label] = [len(captured.captured_queries), tiles]
    for _ in range(runs):
        for label, (client, url) in targets.items():
            started = time.perf_counter()
            client.get(url, **headers)
            timings[label].append((time.perf_counter() - started) * 1000)
    return {
        label: (statistics.median(timings[label]), queries, tiles)
        for label, (queries, tiles) in out.items()
    }


def report(rows, args) -> int:
    small, large = f"{args.small:,} results", f"{args.large:,} results"
    print()
    print(f"{'request':<26}{small:>22}{large:>24}{'ratio':>8}  verdict")
    print(f"{'':<26}{'median ms  queries':>22}{'median ms  queries':>24}")
    failed = False
    for row in rows:
        (s_ms, s_q, s_tiles), (l_ms, l_q, l_tiles) = row["small"], row["large"]
        ratio = l_ms / s_ms
        gated = not row["name"].startswith("search")
        ok = (args.smoke or ratio <= LIMIT_RATIO) and l_q <= s_q
        verdict = ("ok" if ok else "TOO SLOW") if gated else "(not gated: more matches)"
        failed |= gated and not ok
        print(
            f"{row['name']:<26}{s_ms:>12.1f}{s_q:>10}{l_ms:>14.1f}{l_q:>10}"
            f"{ratio:>8.2f}  {verdict}  [{s_tiles}/{l_tiles} tiles]"
        )
    print()
    print(f"Median of {args.runs} timed requests each (small and large taking turns), after "
          "3 warm-up requests;\nDjango test client: full middleware, session, templates.")
    print("Gate: at the large size each page costs at most "
          f"{LIMIT_RATIO:g}x the small one and no more queries.")
    print("FAILED" if failed else "PASSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
