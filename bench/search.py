#!/usr/bin/env python
"""Gallery search at 100,000 images: prompt words plus VideoGen's file search.

    .venv/bin/python bench/search.py             # 100,000 results (seed_gallery)
    .venv/bin/python bench/search.py --smoke     # a tiny run, well under a minute

Builds a throwaway SQLite database under var/bench-search/, fills one team with
`seed_gallery`, starts a real sandbox (python -m studio.sandbox), makes real
images there and points some of the team's results at them (so VideoGen's
search finds files this team owns, among files of another team it must drop).
Then asks the gallery for searches through Django's test client:

- uncached: the cache is emptied before each request, so each one calls
  POST /v1/files/search once and maps the hits to the team's results;
- cached: the same query again (within STUDIO_SEARCH_CACHE_SECONDS);
- the next page of a search, and the words-only fallback for reference.

Prints p50 / p90 in ms, queries per request, and the search calls each request
cost, counted by the sandbox itself (its /_admin/stats).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench-search"
QUERIES = ["lighthouse", "maroon", "harbour night", "teal polygons", "fox", "dusk"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=100_000, help="results in the team")
    parser.add_argument("--runs", type=int, default=21, help="timed requests per row")
    parser.add_argument("--files", type=int, default=60, help="real sandbox images")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: a quick check")
    args = parser.parse_args()
    if args.smoke:
        args.results, args.runs, args.files = 300, 6, 6

    shutil.rmtree(BENCH_DIR, ignore_errors=True)
    os.environ["STUDIO_VAR_DIR"] = str(BENCH_DIR)
    os.environ.pop("REDIS_URL", None)  # the embedded default: file cache, local limiter
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("VIDEOGEN_API_KEY", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ.setdefault("STUDIO_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))

    from tests.fixtures.sandbox import start_sandbox

    sandbox = start_sandbox("--analysis-seconds", "0.05", log_dir=Path(tempfile.mkdtemp()))
    os.environ["VIDEOGEN_SANDBOX_URL"] = sandbox.base_url
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return run(args, sandbox)
    finally:
        sandbox.stop()


def search_calls(sandbox) -> int:
    requests = sandbox.stats().get("requests", {})
    return sum(n for name, n in requests.items() if name == "POST /v1/files/search")


def run(args, sandbox) -> int:
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from studio.generations.models import Result
    from studio.teams.middleware import SESSION_KEY
    from studio.teams.models import Membership, Role, Team

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # Real files, analysed by the sandbox; half of them belong to "another team"
    # (no row of ours), which the search must drop.
    file_ids = make_files(sandbox, args.files)
    started = time.monotonic()
    with open(os.devnull, "w") as quiet:
        call = __import__("django.core.management", fromlist=["call_command"]).call_command
        call("seed_gallery", team="bench-search", results=args.results, create=True, stdout=quiet)
    team = Team.objects.get(name="bench-search")
    print(f"Seeded {args.results:,} results in {time.monotonic() - started:.1f} s")

    ours = file_ids[::2]
    picks = list(
        Result.objects.filter(team=team).order_by("?").values_list("pk", flat=True)[: len(ours)]
    )
    for pk, file_id in zip(picks, ours, strict=False):
        Result.objects.filter(pk=pk).update(remote_file_id=file_id)
    print(f"Sandbox: {len(file_ids)} described images, {len(ours)} of them this team's")

    member = Membership.objects.filter(team=team, role=Role.MEMBER).select_related("user").first()
    client = Client()
    client.force_login(member.user)
    session = client.session
    session[SESSION_KEY] = team.pk
    session.save()

    def get(url, **headers):
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
        return response

    rows = []

    def measure(name, urls, *, before=None, headers=None):
        headers = headers or {}
        times, calls = [], []
        for i in range(args.runs):
            url = urls[i % len(urls)]
            if before:
                before(url)
            was = search_calls(sandbox)
            t0 = time.perf_counter()
            get(url, **headers)
            times.append((time.perf_counter() - t0) * 1000)
            calls.append(search_calls(sandbox) - was)
        if before:
            before(urls[0])
        with CaptureQueriesContext(connection) as captured:
            response = get(urls[0], **headers)
        tiles = response.content.decode().count('class="tile"')
        times.sort()
        rows.append((name, statistics.median(times), times[int(len(times) * 0.9) - 1],
                     len(captured.captured_queries), statistics.mean(calls), tiles))

    urls = [f"/gallery/?q={q.replace(' ', '+')}" for q in QUERIES]
    for url in urls:
        get(url)  # warm: the first of each query fills the cache
    measure("search, uncached", urls, before=lambda url: cache.clear())
    for url in urls:
        get(url)  # each query once more: now all are in the cache
    measure("search, cached", urls)
    more = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "gallery-more"}
    next_pages = [next_page_url(get, url) for url in urls]
    measure("search, next page (cached)", [u for u in next_pages if u] or urls, headers=more)
    settings.STUDIO_RATE_LIMITS = "search=1/3600"  # spent after one call: words alone
    get("/gallery/?q=warmup")
    measure("words only (budget spent)", urls, before=lambda url: cache.clear())

    print()
    print(f"Gallery search, {args.results:,} results, SQLite, {args.runs} requests per row")
    heads = f"{'p50 ms':>9}{'p90 ms':>9}{'queries':>9}{'search calls':>14}{'tiles':>7}"
    print(f"{'request':<30}{heads}")
    for name, p50, p90, queries, calls, tiles in rows:
        print(f"{name:<30}{p50:>9.1f}{p90:>9.1f}{queries:>9}{calls:>14.2f}{tiles:>7}")
    return 0


def next_page_url(get, url):
    import re

    html = get(url).content.decode()
    match = re.search(r'id="gallery-more"[^>]*href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def make_files(sandbox, count: int) -> list[str]:
    """`count` kept images from a few prompts, waited for until described."""
    from studio.videogen import client_from_settings

    client = client_from_settings()
    prompts = ["a lighthouse at dusk", "a quiet harbour at night", "a fox in the snow"]
    per = max(1, count // len(prompts))
    started = [client.generate_image(prompt=p, num_results=per) for p in prompts]
    ids = []
    deadline = time.monotonic() + 300
    for execution_id in started:
        while (execution := client.get_execution(execution_id)).status != "succeeded":
            assert time.monotonic() < deadline, execution
            time.sleep(0.05)
        ids += [item.file_id for item in execution.results]
    for file_id in ids:
        while not client.get_file(file_id).description:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return ids


if __name__ == "__main__":
    sys.exit(main())
