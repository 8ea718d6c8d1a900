#!/usr/bin/env python
"""VideoGen API calls per generation, with polling and with webhooks, counted by
the sandbox (GET /_admin/stats), for generations of 1, 4 and 100 results.

    .venv/bin/python bench/api_calls.py [--generations 3] [--results 1,4,100]
    .venv/bin/python bench/api_calls.py --smoke     # 1 generation of 2 results per mode

Real processes (prefork worker, beat, gunicorn for the webhook receiver, the
sandbox, a private redis-server). Each row starts --generations at once and
waits until all are stored. Polling uses Studio's default backoff (1.5 s,
x1.3, up to 30 s); with webhooks registered the poll is a fallback after 60 s.
The target (issue 11): with webhooks 1 tool POST, 0 execution GETs and 0
hydrates per generation; with polling 0 hydrates.
"""

from __future__ import annotations

import argparse
from collections import Counter

from _harness import Stack, make_member, wait_until

PENDING, RUNNING = 1.0, 3.0
TOOL_POST = "POST /v1/tools/generate-image"
EXECUTION_GET = "GET /v1/tools/executions/{execution_id}"
HYDRATE = "POST /v1/files/{file_id}/hydrate"
COLUMNS = (("tool POST", TOOL_POST), ("execution GET", EXECUTION_GET), ("hydrate", HYDRATE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=3, help="generations per row")
    parser.add_argument("--results", default="1,4,100", help="results per generation")
    parser.add_argument("--smoke", action="store_true", help="1 generation of 2 results")
    args = parser.parse_args()
    if args.smoke:
        args.generations, args.results = 1, "2"
    sizes = [int(v) for v in args.results.split(",")]
    flags = ["--pending-seconds", str(PENDING), "--running-seconds", str(RUNNING)]
    table: dict[tuple[str, int], dict[str, float]] = {}
    with Stack("api-calls", sandbox_flags=flags) as stack:
        stack.start_services()
        stack.start_worker(concurrency=4)
        stack.start_beat()
        stack.start_web()
        user = make_member()
        for mode in ("polling", "webhooks"):
            if mode == "webhooks":
                from django.core.management import call_command

                call_command("register_webhook", url=f"{stack.web_url}/webhooks/videogen/",
                             verbosity=0)
            for size in sizes:
                table[(mode, size)] = measure(stack, user, args.generations, mode, size)

    print(f"\nVideoGen API calls per generation ({args.generations} generations per row; "
          f"pending {PENDING:g} s, running {RUNNING:g} s):\n")
    header = f"  {'mode':9s} {'results':>7s}" + "".join(f" {name:>14s}" for name, _ in COLUMNS)
    print(header + f" {'other':>8s} {'total':>8s}")
    for (mode, size), calls in table.items():
        named = [calls.get(endpoint, 0.0) for _, endpoint in COLUMNS]
        total = sum(calls.values())
        cells = "".join(f" {value:14.2f}" for value in named)
        print(f"  {mode:9s} {size:7d}{cells} {total - sum(named):8.2f} {total:8.2f}")
    others = sorted({e for calls in table.values() for e in calls} - {e for _, e in COLUMNS})
    if others:
        print(f"\n  other: {', '.join(others)}")


def measure(stack, user, count: int, mode: str, size: int) -> dict[str, float]:
    from studio.generations.models import Generation
    from studio.generations.services import generation_create

    before = Counter(stack.stats()["requests"])
    team = user.teams.get()
    pks = [
        generation_create(team=team, user=user, prompt=f"{mode} {size} {n}",
                          aspect_ratio="1:1", num_results=size, is_output_temporary=True).pk
        for n in range(count)
    ]
    wait_until(lambda: not Generation.objects.filter(pk__in=pks).in_flight().exists(),
               PENDING + RUNNING + 300, f"{mode} round", interval=0.5)
    failed = Generation.objects.filter(pk__in=pks).exclude(status="succeeded")
    if failed.exists():
        raise SystemExit(f"{mode} x{size}: not all succeeded: "
                         f"{list(failed.values_list('status', 'error_message'))}")
    after = Counter(stack.stats()["requests"])
    calls = {
        endpoint: (after[endpoint] - before[endpoint]) / count
        for endpoint in after
        if after[endpoint] > before[endpoint] and not endpoint.startswith("GET /_storage")
    }
    print(f"{mode} x{size}: {sum(calls.values()):.2f} API calls per generation")
    return calls


if __name__ == "__main__":
    main()
