#!/usr/bin/env python
"""Every page a member or admin opens, at 1,000 and at 100,000 images: queries and p50 time.

    .venv/bin/python bench/pages.py                  # SQLite, then PostgreSQL if reachable
    .venv/bin/python bench/pages.py --db sqlite --runs 25
    .venv/bin/python bench/pages.py --smoke          # 200 and 2,000 images, SQLite, < 60 s
    .venv/bin/python bench/pages.py --show-queries studio   # the SQL of one page

Two teams are filled by `seed_gallery --extras`: results, edits stacked under
their sources, comments, ratings, images awaiting review, Trash, notifications,
audit entries, boards with share and client links. The seeded database is kept
and reused by the next run (SQLite under var/bench-pages/, PostgreSQL in the
database of --pg-url, default postgres://postgres@127.0.0.1:5432/bench_pages,
created if missing); --fresh seeds again. Each database runs in a child process
(Django is set up once per process).

Each page is asked by the test client with Studio's whole middleware, as a member
(studio, gallery, viewer, boards, Trash, notifications) or as the owner (review,
audit, usage, team, client links). Queries are counted on one request after
three warm-ups; p50 over --runs requests, small and large teams taking turns.
Gate: at most 20 queries, no more at the large size than the small, and the
large p50 at most 1.2x the small (timing is not gated in --smoke: at that size
it is noise). Exit 1 if a page misses it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench-pages"
MAX_QUERIES = 20
MAX_RATIO = 1.2
PG_URL = "postgres://postgres@127.0.0.1:5432/bench_pages"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000, help="images in the small team")
    parser.add_argument("--large", type=int, default=100_000, help="images in the large team")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page (p50)")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PAGES_PG_URL", PG_URL))
    parser.add_argument("--fresh", action="store_true", help="seed again, not reuse")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, SQLite, no timing gate")
    parser.add_argument("--show-queries", metavar="PAGE", help="print the SQL of one page")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # sqlite|postgres: one database
    args = parser.parse_args()
    if args.smoke:
        args.small, args.large, args.runs, args.db = 200, 2_000, 3, "sqlite"
    if args.child:
        return child(args)

    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in databases and not _reachable(args.pg_url):
        if args.db == "postgres":
            print(f"PostgreSQL is not reachable at {args.pg_url}", file=sys.stderr)
            return 1
        print(f"(PostgreSQL not reachable at {args.pg_url}: SQLite only)")
        databases.remove("postgres")
    tables, failed = {}, False
    for database in databases:
        out = BENCH_DIR / f"{database}-{args.small}-{args.large}.json"
        command = [sys.executable, __file__, "--child", database, *_passed(args)]
        code = subprocess.call(command, env={**os.environ, "BENCH_PAGES_OUT": str(out)})
        if code == 0 and not args.show_queries:
            tables[database] = json.loads(out.read_text())
        failed |= code != 0
    for database, rows in tables.items():
        failed |= report(database, rows, args)
    if not args.show_queries:
        print("FAILED" if failed else "PASSED")
    return 1 if failed else 0


def _passed(args) -> list[str]:
    out = ["--small", str(args.small), "--large", str(args.large), "--runs", str(args.runs),
           "--pg-url", args.pg_url]
    if args.fresh:
        out.append("--fresh")
    if args.smoke:
        out.append("--smoke")
    if args.show_queries:
        out += ["--show-queries", args.show_queries]
    return out


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 5432), timeout=3).close()
        return True
    except OSError:
        return False


# --- one database, in a child process ----------------------------------------------------


def child(args) -> int:
    database = args.child
    var = BENCH_DIR / (database if not args.smoke else f"{database}-smoke")
    if args.fresh:
        shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True, exist_ok=True)
    os.environ["STUDIO_VAR_DIR"] = str(var)  # SQLite file and media live here
    os.environ["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    os.environ["DJANGO_DEBUG"] = "0"  # production templates and settings
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    os.environ["STUDIO_LOG_LEVEL"] = "WARNING"
    os.environ["REDIS_URL"] = ""  # nothing is enqueued; the cache is local memory
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    # A real sandbox answers "Already made" and "More like this" (VideoGen's file search):
    # with none, each asked an API that is not there (retries, ~0.7 s) and timed that.
    from tests.fixtures.sandbox import start_sandbox

    sandbox = start_sandbox(log_dir=var)
    os.environ.pop("VIDEOGEN_API_KEY", None)
    os.environ.pop("VIDEOGEN_BASE_URL", None)
    os.environ["VIDEOGEN_SANDBOX_URL"] = sandbox.base_url
    try:
        return _child(args, database, var)
    finally:
        sandbox.stop()


def _child(args, database: str, var: Path) -> int:
    if database == "postgres":
        name = "bench_pages_smoke" if args.smoke else urlsplit(args.pg_url).path.lstrip("/")
        _create_database(args.pg_url, name, fresh=args.fresh)
        os.environ["DATABASE_URL"] = urlunsplit(urlsplit(args.pg_url)._replace(path=f"/{name}"))

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    from django.db.migrations.exceptions import InconsistentMigrationHistory

    try:
        call_command("migrate", verbosity=0)
    except InconsistentMigrationHistory:  # kept from before migrations were re-chained
        print("The kept database's migrations no longer match: seeding again", flush=True)
        connection.close()
        if database == "postgres":
            _create_database(args.pg_url, connection.settings_dict["NAME"], fresh=True)
        else:
            Path(connection.settings_dict["NAME"]).unlink()
        call_command("migrate", verbosity=0)
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():  # DEBUG off wants it
        call_command("collectstatic", interactive=False, verbosity=0)
    print(f"\n== {connection.vendor} ({connection.settings_dict['NAME']})", flush=True)
    teams = {label: seeded(f"pages-{count}", count)
             for label, count in (("small", args.small), ("large", args.large))}
    pages = page_list(teams)
    if args.show_queries:
        return show_queries(pages, teams, args.show_queries)
    rows = [{"name": name, **measure(name, {label: (teams[label][who], url(teams[label]))
                                           for label in teams}, args.runs, *headers)}
            for name, who, url, *headers in pages]
    Path(os.environ["BENCH_PAGES_OUT"]).write_text(json.dumps(rows))
    return 0


def _create_database(url: str, name: str, *, fresh: bool) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}"')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def seeded(name: str, count: int) -> dict:
    """The team `name` with `count` images (seeded once, then reused), and its people."""
    from django.core.management import call_command

    from studio.generations.models import Generation, Result
    from studio.teams.models import Team

    team = Team.objects.filter(name=name).first()
    # seed_gallery's own images are on cards of their own; --extras' edits stack under them.
    kept = team is not None and Result.all_objects.filter(
        team=team, generation__stack_root__isnull=True
    ).count() == count
    if not kept:
        if team is not None:  # an unfinished seed: start again
            Generation.objects.filter(team=team).update(source_result=None, stack_root=None)
            team.delete()
        started = time.monotonic()
        with open(os.devnull, "w") as quiet:
            call_command("seed_gallery", team=name, results=count, create=True, extras=True,
                         stdout=quiet)
        print(f"Seeded {count:,} images in {time.monotonic() - started:.1f} s", flush=True)
        team = Team.objects.get(name=name)
    else:
        print(f"Reusing the seeded team of {count:,} images", flush=True)
    # "Something changed" (the polls' answers with news) needs a counter above 0.
    Team.objects.filter(pk=team.pk, change_seq=0).update(change_seq=1)
    return signed_in(team)


def signed_in(team) -> dict:
    """{"team", "member", "owner"}: test clients signed in to `team` as a member and its owner."""
    from django.test import Client

    from studio.teams.middleware import SESSION_KEY
    from studio.teams.models import Membership, Role

    people = {}
    for who, role in (("member", Role.MEMBER), ("owner", Role.OWNER)):
        membership = (Membership.objects.filter(team=team, role=role)
                      .select_related("user").order_by("pk").first())
        client = Client()
        client.force_login(membership.user)
        session = client.session
        session[SESSION_KEY] = team.pk
        session.save()
        people[who] = client
    return {"team": team, **people}


def page_list(teams) -> list[tuple]:
    """(name, who asks, url for a seeded team): every GET page a member or admin opens."""
    from studio.discussion.models import Comment
    from studio.gallery.models import ClientLink, Collection, CollectionItem, ShareLink
    from studio.gallery.selectors import Cursor
    from studio.generations.models import Generation, Result

    found: dict[tuple, object] = {}

    def once(key, make):
        if key not in found:
            found[key] = make()
        return found[key]

    def deep(seeded) -> str:
        team = seeded["team"]

        def make():
            rows = Result.objects.filter(team=team).order_by("-created_at", "-pk")
            total = rows.count()
            # 90% of the way down, or as deep as still leaves a page of tiles after it.
            row = rows.values("created_at", "pk")[max(0, min(int(total * 0.9), total - 60))]
            return str(Cursor(row["created_at"], row["pk"]))

        return f"/gallery/?cursor={once(('deep', team.pk), make)}"

    def viewed(seeded) -> int:
        """The newest result with an edit made from it and a comment on it."""
        team = seeded["team"]
        return once(("viewer", team.pk), lambda: Result.objects.filter(
            team=team, derived_generations__isnull=False, comments__isnull=False,
        ).order_by("-created_at", "-pk").values_list("pk", flat=True).first())

    def collection(seeded) -> int:
        team = seeded["team"]
        return once(("board", team.pk), lambda: ClientLink.objects.filter(team=team)
                    .values_list("collection_id", flat=True).first()
                    or Collection.objects.filter(team=team).values_list("pk", flat=True)[0])

    def mine(seeded) -> int:
        """A comment the member wrote (only its author may edit it)."""
        user = seeded["member"].session["_auth_user_id"]
        return Comment.objects.filter(team=seeded["team"], author_id=user).values_list(
            "pk", flat=True
        ).first()

    def board_result(seeded) -> int:
        return CollectionItem.objects.filter(  # one not in the Trash
            collection_id=collection(seeded), result__deleted_at__isnull=True,
            result__generation__deleted_at__isnull=True,
        ).values_list("result_id", flat=True).first()

    def share_token(seeded) -> str:
        return ShareLink.objects.filter(team=seeded["team"]).values_list("token", flat=True)[0]

    def client_token(seeded) -> str:
        return ClientLink.objects.filter(team=seeded["team"]).values_list("token", flat=True)[0]

    def cursor(seeded) -> int:
        team = seeded["team"]
        team.refresh_from_db()
        return team.change_seq

    def prompt_of(seeded) -> str:
        """The same prompt for every size (the small team's first): another prompt's
        words are another search."""
        def make():
            first = min(teams.values(),
                        key=lambda s: Result.all_objects.filter(team=s["team"]).count())
            return Generation.objects.get(pk=remixed(first)).prompt

        return once(("prompt",), make)

    def remixed(seeded) -> int:
        return Generation.objects.filter(team=seeded["team"], tool="generate_image",
                                         deleted_at__isnull=True).values_list("pk", flat=True)[0]

    return [
        ("studio", "member", lambda s: "/"),
        ("studio: update (no change)", "member",
         lambda s: f"/generations/updates/?cursor={cursor(s)}", HTMX),
        ("studio: prompt history", "member", lambda s: "/generations/prompts/"),
        ("studio: cost line", "member", lambda s: "/generations/cost/?num_results=4"),
        ("studio: remix", "member", lambda s: f"/generations/{remixed(s)}/remix/"),
        ("gallery: first page", "member", lambda s: "/gallery/"),
        ("gallery: deep cursor (90%)", "member", deep),
        ("gallery: by rating", "member", lambda s: "/gallery/?sort=rating"),
        ("gallery: favourites", "member", lambda s: "/gallery/?favourites=1"),
        ("gallery: news (a change)", "member",
         lambda s: f"/gallery/news/?seq={cursor(s) - 1}", HTMX),
        ("viewer (result detail)", "member", lambda s: f"/results/{viewed(s)}/"),
        ("viewer: more like this", "member", lambda s: f"/gallery/results/{viewed(s)}/similar/"),
        ("studio: already made", "member",
         lambda s: f"/gallery/already-made/?prompt={quote(prompt_of(s))}", HTMX),
        ("viewer: discussion", "member", lambda s: f"/discussion/results/{viewed(s)}/"),
        ("viewer: organise menu", "member", lambda s: f"/gallery/results/{viewed(s)}/organise/"),
        ("viewer: its collections", "member",
         lambda s: f"/gallery/results/{viewed(s)}/collections/"),
        ("viewer: thread update", "member",
         lambda s: f"/discussion/results/{viewed(s)}/comments/updates/?seq={cursor(s) - 1}", HTMX),
        ("viewer: edit a comment", "member", lambda s: f"/discussion/comments/{mine(s)}/edit/"),
        ("collections", "member", lambda s: "/collections/"),
        ("a collection", "member", lambda s: f"/collections/{collection(s)}/"),
        ("share links", "member", lambda s: "/share-links/"),
        ("trash", "member", lambda s: "/trash/"),
        ("notifications", "owner", lambda s: "/notifications/"),
        ("notifications: bell", "owner",
         lambda s: f"/notifications/bell/?seq={cursor(s) - 1}", HTMX),
        ("account", "member", lambda s: "/accounts/"),
        ("teams", "member", lambda s: "/teams/"),
        ("team page", "owner", lambda s: "/team/"),
        ("review queue", "owner", lambda s: "/review/"),
        ("audit log", "owner", lambda s: "/review/audit/"),
        ("usage", "owner", lambda s: "/review/usage/"),
        ("API budget", "owner", lambda s: "/review/budget/"),
        ("usage CSV", "owner", lambda s: "/review/usage.csv"),
        ("review settings", "owner", lambda s: "/review/settings/"),
        ("client links (admin)", "owner", lambda s: f"/collections/{collection(s)}/client-links/"),
        ("client activity (admin)", "owner",
         lambda s: f"/collections/{collection(s)}/client-activity/?seq={cursor(s) - 1}", HTMX),
        ("shared board (public)", "member", lambda s: f"/s/{share_token(s)}/"),
        ("shared image (public)", "member",
         lambda s: f"/s/{share_token(s)}/results/{board_result(s)}/"),
        ("client link (client)", "member", lambda s: f"/c/{client_token(s)}/"),
    ]


# GET URLs that are not pages a member or admin opens, and why; every other named URL
# must be in page_list() (tests/test_page_queries.py checks it).
NOT_PAGES = {
    # Bytes, not pages: their cost is the file, and they read one row.
    "result_media", "reference_media", "shared_media", "client_media", "trash_media",
    "results_zip", "collection_zip",
    # Before signing in, or the machinery: no team's images are read.
    "healthz", "metrics", "webhook_receive", "signup", "login", "logout", "password_reset",
    "password_reset_done", "password_reset_confirm", "password_reset_complete",
    "invitation_detail", "invitation_accept",
}


def page_names(pages, teams) -> set[str]:
    """The URL names page_list() covers."""
    from django.urls import resolve

    seeded = next(iter(teams.values()))
    return {resolve(url(seeded).split("?")[0]).url_name for _, _, url, *_ in pages}


def measure(name: str, targets: dict, runs: int, headers: dict | None = None) -> dict:
    """p50 ms and queries per team size. Small and large take turns."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = headers or {}
    out, timings = {}, {label: [] for label in targets}
    for label, (client, url) in targets.items():
        for _ in range(3):  # warm caches and connections
            response = client.get(url, **headers)
            if response.status_code not in (200, 204, 286):  # 286: htmx "stop polling"
                raise SystemExit(f"{name}: {url} answered {response.status_code}")
        with CaptureQueriesContext(connection) as captured:
            client.get(url, **headers)
        out[label] = len(captured.captured_queries)
    for _ in range(runs):
        for label, (client, url) in targets.items():
            started = time.perf_counter()
            client.get(url, **headers)
            timings[label].append((time.perf_counter() - started) * 1000)
    return {label: [statistics.median(timings[label]), queries] for label, queries in out.items()}


def show_queries(pages, teams, wanted: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for name, who, url, *headers in pages:
        if wanted != "*" and wanted.lower() not in name.lower():
            continue
        extra = headers[0] if headers else {}
        for label, seeded in teams.items():
            client, path = seeded[who], url(seeded)
            client.get(path, **extra)
            with CaptureQueriesContext(connection) as captured:
                client.get(path, **extra)
            print(f"\n{name} [{label}] {path}: {len(captured.captured_queries)} queries")
            for query in captured.captured_queries:
                slow = float(query["time"]) >= 0.005
                print(f"  {query['time']:>6}s  {query['sql'] if slow else query['sql'][:160]}")
                if slow:  # where the time goes: the plan
                    explain = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
                    with connection.cursor() as cursor:
                        cursor.execute(f"{explain} {query['sql']}")
                        for line in cursor.fetchall():
                            print(f"            {line[-1]}")
    return 0


# --- the table ---------------------------------------------------------------------------


def report(database: str, rows: list[dict], args) -> bool:
    small, large = f"{args.small:,} images", f"{args.large:,} images"
    print(f"\n{database}: {len(rows)} pages")
    print(f"{'page':<30}{small:>20}{large:>20}{'ratio':>8}  verdict")
    print(f"{'':<30}{'p50 ms  queries':>20}{'p50 ms  queries':>20}")
    failed = False
    for row in rows:
        (s_ms, s_q), (l_ms, l_q) = row["small"], row["large"]
        ratio = l_ms / s_ms if s_ms else float("inf")
        problems = []
        if l_q > MAX_QUERIES:
            problems.append(f"over {MAX_QUERIES} queries")
        if l_q > s_q:
            problems.append("queries grow")
        if not args.smoke and ratio > MAX_RATIO:
            problems.append("slower")
        failed |= bool(problems)
        print(f"{row['name']:<30}{s_ms:>11.1f}{s_q:>9}{l_ms:>11.1f}{l_q:>9}{ratio:>8.2f}  "
              f"{', '.join(problems) or 'ok'}")
    print(f"p50 of {args.runs} requests each after 3 warm-ups (Django test client, DEBUG off).")
    print(f"Gate: <= {MAX_QUERIES} queries, no more at the large size"
          + ("" if args.smoke else f", large p50 <= {MAX_RATIO:g}x small") + ".")
    return failed


if __name__ == "__main__":
    sys.exit(main())
