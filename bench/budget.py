#!/usr/bin/env python
"""The key's budget under a queue: is it spent completely, fairly, with no 429?

    .venv/bin/python bench/budget.py [--queue 40] [--window 30] [--tools 10] [--smoke]

Real processes: the sandbox, two Celery worker processes, beat, a private
redis-server, gunicorn for the webhook receiver. Studio and the sandbox get the
same compressed hour (`--tools` tool calls per `--window` seconds, executions
and hydrates in the documented proportion). Team A queues `--queue`
generations at once; a few calls later team B asks for one. Polling only, then
with webhooks registered. Printed per mode:

- the share of the tool budget used while work waited (goal >= 95 %): calls
  taken over the calls the budget allowed from the first one taken to the last;
- 429s the sandbox answered (goal 0);
- the most accepted tool POSTs in any sliding window (goal <= the limit);
- team B's wait from its request to its POST (goal <= two calls' time,
  2 x window / limit);
- execution GETs used against the budget for the run's duration.

`--smoke`: a tiny run (6 queued, 10 calls per 10 s, polling only) in under a minute.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from _harness import Stack, make_member, wait_until

TOOL_POST = "POST /v1/tools/generate-image"
EXECUTION_GET = "GET /v1/tools/executions/{execution_id}"
PENDING, RUNNING = 1.0, 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue", type=int, default=40, help="team A's queued generations")
    parser.add_argument("--window", type=float, default=30.0, help="the compressed hour, s")
    parser.add_argument("--tools", type=int, default=10, help="tool calls per window")
    parser.add_argument("--smoke", action="store_true", help="a tiny run, under a minute")
    args = parser.parse_args()
    modes = ("polling", "webhooks")
    if args.smoke:
        args.queue, args.window, args.tools, modes = 6, 10.0, 10, ("polling",)
    # The documented proportions: executions 10x tools, hydrates 5x.
    table = (f"tools={args.tools}/{args.window:g},executions={args.tools * 10}/{args.window:g},"
             f"hydrate={args.tools * 5}/{args.window:g}")
    flags = ["--pending-seconds", str(PENDING), "--running-seconds", str(RUNNING),
             "--rate-limits", table]
    env = {"STUDIO_RATE_LIMITS": table, "STUDIO_DISPATCH_TICK": "1"}
    rows = []
    with Stack("budget", sandbox_flags=flags, env=env) as stack:
        stack.start_services()
        stack.start_worker("worker1", concurrency=2)
        stack.start_worker("worker2", concurrency=2)
        stack.start_beat()
        if "webhooks" in modes:
            stack.start_web()
        a, b = make_member("team-a"), make_member("team-b")
        for mode in modes:
            if mode == "webhooks":
                from django.core.management import call_command

                call_command("register_webhook", url=f"{stack.web_url}/webhooks/videogen/",
                             verbosity=0)
            rows.append(measure(stack, a, b, mode, args))
        log_429 = sum(p.log_text().count("status=429") for p in stack.processes
                      if p.name.startswith("worker"))

    pace = args.window / args.tools
    print(f"\nBudget: {args.tools} tool calls per {args.window:g} s in Studio and the sandbox "
          f"(one call every {pace:g} s); team A queued {args.queue}, then team B asked for one.\n")
    print(f"  {'mode':9s} {'budget used':>11s} {'429s':>5s} {'max POSTs/window':>17s} "
          f"{'B waited':>9s} {'goal':>6s} {'exec GETs / budget':>19s} {'took':>6s}")
    for r in rows:
        print(f"  {r['mode']:9s} {r['share']:10.1%} {r['refused']:5d} {r['max_window']:17d} "
              f"{r['b_wait']:8.1f}s {2 * pace:5.1f}s {r['gets']:8d} / {r['get_budget']:<8d} "
              f"{r['took']:5.0f}s")
    print(f"\n  429s logged by the workers: {log_429}")
    print("  baseline (issue 12, token bucket, FIFO): 11 POSTs in a window, seven 429s, 91 s wait")


def measure(stack, a, b, mode: str, args) -> dict:
    from studio.generations.models import Generation
    from studio.generations.services import generation_create

    before = stack.stats()
    started = time.time()
    team_a, team_b = a.teams.get(), b.teams.get()
    pks = [
        generation_create(team=team_a, user=a, prompt=f"{mode} queue {n}", aspect_ratio="1:1",
                          is_output_temporary=True).pk
        for n in range(args.queue)
    ]
    # Team B asks once the queue is well under way (a few calls in).
    wait_until(lambda: Generation.objects.filter(pk__in=pks, submitted_at__isnull=False)
               .count() >= 3, 120, "the queue started")
    lone = generation_create(team=team_b, user=b, prompt=f"{mode} lone", aspect_ratio="1:1",
                             is_output_temporary=True)
    everything = [*pks, lone.pk]
    budget_time = (args.queue + 1) * args.window / args.tools
    wait_until(lambda: not Generation.objects.filter(pk__in=everything).in_flight().exists(),
               budget_time * 2 + 120, f"{mode} run", interval=0.5)
    took = time.time() - started
    rows = Generation.objects.filter(pk__in=everything)
    bad = rows.exclude(status="succeeded")
    if bad.exists():
        raise SystemExit(f"{mode}: not all succeeded: "
                         f"{list(bad.values_list('status', 'error_message'))[:5]}")
    after = stack.stats()
    posts = sorted(t.timestamp() for t in rows.values_list("submitted_at", flat=True))
    # The moments the dispatcher took each call from the budget (the POST follows).
    taken = sorted(t.timestamp() for t in rows.values_list("dispatched_at", flat=True))
    pace = args.window / args.tools
    allowed = (taken[-1] - taken[0]) / pace + 1
    lone.refresh_from_db()
    gets = after["requests"].get(EXECUTION_GET, 0) - before["requests"].get(EXECUTION_GET, 0)
    return {
        "mode": mode,
        "share": len(taken) / allowed,
        "refused": Counter(after["responses"])["429"] - Counter(before["responses"])["429"],
        "max_window": max_in_window(posts, args.window),
        "b_wait": (lone.submitted_at - lone.created_at).total_seconds(),
        "gets": gets,
        "get_budget": int(args.tools * 10 * max(1.0, took / args.window)),
        "took": took,
    }


def max_in_window(times: list[float], window: float) -> int:
    """The most events inside any sliding window of `window` seconds."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


if __name__ == "__main__":
    main()
