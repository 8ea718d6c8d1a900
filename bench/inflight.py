#!/usr/bin/env python
"""How many in-flight executions one worker process follows at once, and what it
costs, against the official SDK's blocking wait (one thread per execution).

    .venv/bin/python bench/inflight.py [--steps 100,1000,10000] [--window 30]
    .venv/bin/python bench/inflight.py --smoke      # 30 executions, seconds each

Executions in the sandbox last 15 minutes, so everything stays in flight.
Studio: one Celery worker process (threads pool, 4 threads) follows N
generations with its re-scheduling poll task (Studio's default backoff:
1.5 s, x1.3, up to 30 s); beat runs the reconciler. For each N the worker's
RSS and thread count are sampled for --window seconds, with the poll rate and
how late the most overdue poll is ("lag"). SDK: a fresh process per N with
N threads, each in `generate_image_and_wait` (bench/_sdk_waiter.py), sampled
the same way. Studio's own rate limits are off here (STUDIO_RATE_LIMITS=off):
with them, polls beyond the executions budget are re-scheduled, not lost.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import timedelta

from _harness import ROOT, Stack, median, proc_status, wait_until

RUNNING = 900.0  # seconds: executions outlive the benchmark
GET = "GET /v1/tools/executions/{execution_id}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="100,1000,10000")
    parser.add_argument("--window", type=float, default=30.0, help="seconds observed per step")
    parser.add_argument("--skip-sdk", action="store_true")
    parser.add_argument("--skip-studio", action="store_true")
    parser.add_argument("--settle", type=float, default=60.0,
                        help="then wait this long for Studio's polls to back off further")
    parser.add_argument("--smoke", action="store_true", help="tiny: 30 executions, seconds")
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.window, args.settle = "30", 2.0, 1.0
    steps = [int(n) for n in args.steps.split(",")]
    flags = ["--pending-seconds", "5", "--running-seconds", str(RUNNING)]
    env = {"STUDIO_RATE_LIMITS": "off", "STUDIO_LOG_LEVEL": "WARNING"}
    rows = {}
    with Stack("inflight", sandbox_flags=flags, env=env) as stack:
        stack.start_services()
        stack.env["STUDIO_LOG_LEVEL"] = "INFO"  # "ready." is logged at INFO
        worker = stack.start_worker(concurrency=4, pool="threads")
        stack.start_beat()
        if not args.skip_studio:
            rows["studio"] = follow_with_studio(stack, worker, steps, args.window, args.settle)
        if not args.skip_sdk:
            rows["sdk"] = follow_with_sdk(stack, steps, args.window)

    # Studio must follow every step; the SDK not surviving one is a figure, not a failure.
    failed = [f"studio N={n}" for n in steps if "studio" in rows
              and (n not in rows["studio"] or rows["studio"][n]["in_flight"] < n)]
    print(f"\nIn-flight executions followed by one process ({args.window:g} s observed each):")
    print("  who     N             RSS MB  threads  GET/s   lag p50/max s")
    for who, results in rows.items():
        for n, r in results.items():
            lag = f"{r['lag_p50']:5.1f} / {r['lag_max']:5.1f}" if "lag_max" in r else "   -"
            print(f"  {who:6s} {n!s:12s}  {r['rss']:7.0f}  {r['threads']:7d}  {r['gets']:6.1f}   "
                  f"{lag}")
    for who, results in rows.items():
        numbers = [n for n in steps if n in results]
        if len(numbers) > 1:
            first, last = results[numbers[0]], results[numbers[-1]]
            per = (last["rss"] - first["rss"]) * 1024 / (numbers[-1] - numbers[0])
            print(f"  {who}: {per:.0f} kB more RSS per further execution followed")
    if "sdk" in rows and "studio" in rows:
        for n in steps:
            s, v = rows["studio"].get(n), rows["sdk"].get(n)
            if s and v:
                print(f"  N={n}: SDK/Studio RSS {v['rss'] / s['rss']:.2f}x, "
                      f"threads {v['threads'] / s['threads']:.0f}x, "
                      f"API reads {v['gets'] / s['gets']:.1f}x")
    if failed:
        print(f"FAILED: not every execution was followed: {', '.join(failed)}")
    return 1 if failed else 0


def follow_with_studio(stack, worker, steps, window, settle) -> dict:
    from studio.generations.models import Generation, Status
    from studio.generations.services import generation_create
    from tests.fixtures.factories import make_user

    user = make_user("bench")
    team = user.teams.get()
    results = {}
    made = 0
    for n in steps:
        for k in range(made, n):
            generation_create(team=team, user=user, prompt=f"long {k}", aspect_ratio="1:1")
        made = n
        wait_until(lambda n=n: Generation.objects.filter(team=team,
                   status__in=(Status.PENDING, Status.RUNNING)).count() >= n,
                   600, f"{n} submitted", interval=1)
        results[n] = observe(stack, worker, team, window)
        print(f"studio N={n}: {results[n]}", flush=True)
    # The same N once every poll has backed off to its cap: the steady cost.
    time.sleep(settle)
    results[f"{steps[-1]} steady"] = observe(stack, worker, team, window)
    print(f"studio N={steps[-1]} steady: {results[f'{steps[-1]} steady']}", flush=True)
    return results


def observe(stack, worker, team, window) -> dict:
    """The worker's RSS and threads, the poll rate, and how late the latest poll is."""
    from django.utils import timezone

    from studio.generations.models import Generation, Status

    samples, lags = [], []
    before = stack.stats()["requests"].get(GET, 0)
    started = time.monotonic()
    while time.monotonic() - started < window:
        samples.append(proc_status(worker.pid))
        now = timezone.now()
        overdue = Generation.objects.filter(
            team=team, status__in=(Status.PENDING, Status.RUNNING),
            next_check_at__lt=now - timedelta(seconds=1),
        ).order_by("next_check_at").values_list("next_check_at", flat=True).first()
        lags.append((now - overdue).total_seconds() if overdue else 0.0)
        time.sleep(1)
    gets = (stack.stats()["requests"].get(GET, 0) - before) / (time.monotonic() - started)
    return {
        "in_flight": Generation.objects.filter(team=team).in_flight().count(),
        "rss": max(s["VmRSS"] for s in samples) / 1024,
        "rss_first_last": (samples[0]["VmRSS"] // 1024, samples[-1]["VmRSS"] // 1024),
        "threads": max(s["Threads"] for s in samples),
        "gets": gets,
        "lag_p50": median(lags),
        "lag_max": max(lags),
    }


def follow_with_sdk(stack, steps, window) -> dict:
    results = {}
    for n in steps:
        stack.sandbox_admin("POST", "reset")
        stack.sandbox_admin("POST", "faults", {"running_seconds": RUNNING,
                                               "pending_seconds": 5})
        waiter = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "_sdk_waiter.py"), stack.sandbox_url,
             "sandbox", str(n)],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            assert waiter.stdout.readline().startswith("started")
            # Every thread has posted its execution and is in its wait loop.
            wait_until(lambda n=n: sum(stack.stats()["executions"].values()) >= n, 600,
                       f"SDK {n} posted", interval=1)
            samples = []
            before = stack.stats()["requests"].get(GET, 0)
            started = time.monotonic()
            while time.monotonic() - started < window and waiter.poll() is None:
                samples.append(proc_status(waiter.pid))
                time.sleep(1)
            gets = (stack.stats()["requests"].get(GET, 0) - before) / (
                time.monotonic() - started)
            if waiter.poll() is not None or not samples:
                print(f"sdk N={n}: the process did not survive", flush=True)
                break
            results[n] = {
                "rss": max(s["VmRSS"] for s in samples) / 1024,
                "threads": max(s["Threads"] for s in samples),
                "gets": gets,
            }
            print(f"sdk N={n}: {results[n]}", flush=True)
        finally:
            waiter.kill()
            waiter.wait()
    return results


if __name__ == "__main__":
    sys.exit(main())
