#!/usr/bin/env python
"""VideoGen API calls per generation, with polling and with webhooks, counted by
the sandbox (GET /_admin/stats) for executions of a few lengths.

    .venv/bin/python bench/api_calls.py [--generations 20] [--running 5,30]

Real processes (prefork worker, beat, gunicorn for the webhook receiver, the
sandbox, a private redis-server). Each round starts --generations at once
(one result each) and waits until all are stored. Polling uses Studio's
default backoff (1.5 s, x1.3, up to 30 s); with webhooks registered the poll
is a fallback after 60 s.
"""

from __future__ import annotations

import argparse
from collections import Counter

from _harness import Stack, make_member, wait_until

PENDING = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--running", default="5,30", help="execution running times, seconds")
    args = parser.parse_args()
    durations = [float(v) for v in args.running.split(",")]
    with Stack("api-calls", sandbox_flags=["--pending-seconds", str(PENDING)]) as stack:
        stack.start_services()
        stack.start_worker(concurrency=4)
        stack.start_beat()
        stack.start_web()
        user = make_member()
        table = {}
        for mode in ("polling", "webhooks"):
            if mode == "webhooks":
                from django.core.management import call_command

                call_command("register_webhook", url=f"{stack.web_url}/webhooks/videogen/",
                             verbosity=0)
            for running in durations:
                stack.sandbox_admin("POST", "faults", {"running_seconds": running})
                table[(mode, running)] = measure(stack, user, args.generations, mode, running)

    print(f"\nVideoGen API calls per generation ({args.generations} generations per row, "
          f"1 result each, pending {PENDING:g} s):")
    endpoints = sorted({e for calls in table.values() for e in calls})
    for (mode, running), calls in table.items():
        total = sum(calls.values())
        detail = ", ".join(f"{e} {calls[e]:.2f}" for e in endpoints if calls.get(e))
        print(f"  {mode:8s} running {running:5.0f} s: {total:5.2f} calls  ({detail})")
    for running in durations:
        polled = sum(table[("polling", running)].values())
        hooked = sum(table[("webhooks", running)].values())
        print(f"  running {running:5.0f} s: webhooks/polling = {hooked / polled:.2f}x")


def measure(stack, user, count: int, mode: str, running: float) -> dict[str, float]:
    from studio.generations.models import Generation
    from studio.generations.services import generation_create

    before = Counter(stack.stats()["requests"])
    team = user.teams.get()
    pks = [
        generation_create(team=team, user=user, prompt=f"{mode} {running} {n}",
                          aspect_ratio="1:1").pk
        for n in range(count)
    ]
    wait_until(lambda: not Generation.objects.filter(pk__in=pks).in_flight().exists(),
               PENDING + running + 120, f"{mode} round", interval=0.5)
    after = Counter(stack.stats()["requests"])
    calls = {
        endpoint: (after[endpoint] - before[endpoint]) / count
        for endpoint in after
        if after[endpoint] > before[endpoint] and not endpoint.startswith("GET /_storage")
    }
    print(f"{mode} running {running:g} s: {sum(calls.values()):.2f} API calls per generation")
    return calls


if __name__ == "__main__":
    main()
