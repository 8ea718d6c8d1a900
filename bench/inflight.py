#!/usr/bin/env python
"""How many in-flight executions one worker process follows at once, and what it
costs, against the official SDK's blocking wait (one thread per execution).

    .venv/bin/python bench/inflight.py [--steps 100,1000,10000] [--window 30]
    .venv/bin/python bench/inflight.py --smoke      # 30 executions, seconds each

Executions in the sandbox last an hour, so everything stays in flight.
Studio: one Celery worker process (threads pool, 4 threads) follows N
generations with its re-scheduling poll task (Studio's default backoff:
1.5 s, x1.3, up to 30 s); beat runs the dispatcher tick and the reconciler.
For each N: how long it took until all N were executions at the sandbox
(from the first new request), then for --window seconds the worker's RSS and
threads, the rate of execution reads (GET/s, counted by the sandbox), how
often each execution is read (N / GET/s), and how late the polls are
(now - next_check_at over the rows in flight; the reconciler re-books polls
late by over a minute, so the read interval is the figure to trust beyond that).
SDK: a fresh process per N with N threads, each in `generate_image_and_wait`
(bench/_sdk_waiter.py), measured the same way once all N are posted; Studio's
worker is stopped first, so the sandbox serves one of them at a time. Studio's
own rate limits are off (STUDIO_RATE_LIMITS=off): with them, polls beyond the
executions budget are re-scheduled, not lost.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import deque

from _harness import ROOT, Stack, median, percentile, proc_status, wait_until

RUNNING = 3600.0  # seconds: executions outlive the benchmark
GET = "GET /v1/tools/executions/{execution_id}"
SUBMIT_TIMEOUT = 1800.0  # seconds for one step's executions to reach the sandbox
# The SDK's posting stalled: fewer than this share of N new in the last STALL seconds.
STALL, STALL_SHARE = 60.0, 0.01


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
    idle = {}
    # Its own directory per part: the SDK's half may run beside Studio's (--skip-*).
    name = "inflight" + ("-sdk" if args.skip_studio else "-studio" if args.skip_sdk else "")
    started = time.monotonic()
    with Stack(name, sandbox_flags=flags, env=env) as stack:
        stack.start_services()
        if not args.skip_studio:
            stack.env["STUDIO_LOG_LEVEL"] = "INFO"  # "ready." is logged at INFO
            worker = stack.start_worker(concurrency=4, pool="threads")
            beat = stack.start_beat()
            time.sleep(1)
            idle["studio"] = proc_status(worker.pid)["VmRSS"] / 1024
            rows["studio"] = follow_with_studio(stack, worker, steps, args.window, args.settle)
            # The sandbox serves one side at a time: Studio's polls would slow the SDK's.
            beat.stop()
            worker.stop()
        if not args.skip_sdk:
            idle["sdk"], rows["sdk"] = follow_with_sdk(stack, steps, args.window)
    if time.monotonic() - started > RUNNING:
        print("NOTE: the run outlasted the executions; late figures include finished ones")

    # Studio must follow every step; the SDK not surviving one is a figure, not a failure.
    failed = [f"studio N={n}" for n in steps if "studio" in rows
              and (n not in rows["studio"] or rows["studio"][n]["in_flight"] < n)]
    report(rows, idle, steps, args.window)
    if failed:
        print(f"FAILED: not every execution was followed: {', '.join(failed)}")
    return 1 if failed else 0


def report(rows: dict, idle: dict, steps: list[int], window: float) -> None:
    print(f"\nIn-flight executions followed by one process ({window:g} s observed each; "
          f"idle RSS: " + ", ".join(f"{who} {mb:.0f} MB" for who, mb in idle.items()) + "):")
    print("  who    N             at sandbox  posted in s  RSS MB  kB/exec  threads   GET/s"
          "  s between reads  lag p50/max s")
    for who, results in rows.items():
        for n, r in results.items():
            if n == "notes":
                continue
            # Per execution actually in flight (a stalled SDK has fewer than its threads).
            per = (r["rss"] - idle[who]) * 1024 / max(1, r["at_sandbox"])
            lag = f"{r['lag_p50']:5.1f} / {r['lag_max']:5.1f}" if "lag_max" in r else "    -"
            posted = ("    stalled" if r.get("stalled") else f"{r['posted_s']:11.1f}"
                      if "posted_s" in r else "          -")
            between = r["at_sandbox"] / r["gets"] if r["gets"] else float("inf")
            print(f"  {who:6s} {n!s:12s}  {r['at_sandbox']:10d}  {posted}  {r['rss']:6.0f}  "
                  f"{per:7.1f}  {r['threads']:7d}  {r['gets']:6.1f}  {between:15.1f}  {lag}")
    for who, results in rows.items():
        numbers = [n for n in steps if n in results]
        if len(numbers) > 1:
            first, last = results[numbers[0]], results[numbers[-1]]
            per = (last["rss"] - first["rss"]) * 1024 / (numbers[-1] - numbers[0])
            print(f"  {who}: {per:.1f} kB more RSS per further execution followed "
                  f"(N={numbers[0]} to N={numbers[-1]})")
    for note in rows.get("sdk", {}).get("notes", []):
        print(f"  sdk: {note}")
    if "sdk" in rows and "studio" in rows:
        print("  side by side (SDK / Studio); kB per execution: RSS added over the previous "
              "step (the first: over the idle process), per execution added:")
        before = {"studio": (idle["studio"], 0), "sdk": (idle["sdk"], 0)}
        for n in steps:
            s, v = rows["studio"].get(n), rows["sdk"].get(n)
            if not (s and v):
                continue
            added = {}
            for who, r in (("studio", s), ("sdk", v)):
                rss, count = before[who]
                added[who] = (r["rss"] - rss) * 1024 / max(1, r["at_sandbox"] - count)
                before[who] = (r["rss"], r["at_sandbox"])
            memory = (f"{added['sdk']:.0f} / {added['studio']:.0f} kB" + (
                f" ({added['sdk'] / added['studio']:.1f}x)" if added["studio"] > 0 else ""))
            posting = "stalled" if v["stalled"] else f"{v['posted_s']:.0f} s"
            print(f"    N={n}: RSS {v['rss']:.0f} / {s['rss']:.0f} MB "
                  f"({v['rss'] / s['rss']:.2f}x), per execution {memory}, "
                  f"threads {v['threads']} / {s['threads']}, "
                  f"API reads {v['gets'] / s['gets']:.1f}x, in flight {v['at_sandbox']} / "
                  f"{s['at_sandbox']}, posting {posting} / {s['posted_s']:.0f} s")


def at_sandbox(stack) -> int:
    """Executions the sandbox has started (none ends within RUNNING)."""
    return sum(stack.stats()["executions"].values())


def follow_with_studio(stack, worker, steps, window, settle) -> dict:
    from studio.generations.models import Generation, Status
    from studio.generations.services import generation_create
    from tests.fixtures.factories import make_user

    user = make_user("bench")
    team = user.teams.get()
    results = {}
    made = 0
    for n in steps:
        began = time.monotonic()
        for k in range(made, n):
            generation_create(team=team, user=user, prompt=f"long {k}", aspect_ratio="1:1")
        created = time.monotonic() - began
        made = n
        wait_until(lambda n=n: at_sandbox(stack) >= n and Generation.objects.filter(
                   team=team, status__in=(Status.PENDING, Status.RUNNING)).count() >= n,
                   SUBMIT_TIMEOUT, f"{n} submitted", interval=0.5)
        posted = time.monotonic() - began
        results[n] = observe(stack, worker, team, window)
        results[n].update(posted_s=posted, created_s=created)
        print(f"studio N={n}: {results[n]}", flush=True)
    # The same N once every poll has backed off to its cap: the steady cost.
    time.sleep(settle)
    results[f"{steps[-1]} steady"] = observe(stack, worker, team, window)
    print(f"studio N={steps[-1]} steady: {results[f'{steps[-1]} steady']}", flush=True)
    return results


def observe(stack, worker, team, window) -> dict:
    """The worker's RSS and threads, the read rate, and how late the polls are."""
    from django.utils import timezone

    from studio.generations.models import Generation, Status

    samples, lag_p50s, lag_maxes = [], [], []
    before = stack.stats()["requests"].get(GET, 0)
    started = time.monotonic()
    while time.monotonic() - started < window:
        samples.append(proc_status(worker.pid))
        now = timezone.now()
        booked = Generation.objects.filter(
            team=team, status__in=(Status.PENDING, Status.RUNNING), next_check_at__isnull=False,
        ).values_list("next_check_at", flat=True)
        late = [max(0.0, (now - at).total_seconds()) for at in booked]
        lag_p50s.append(percentile(late, 0.5) if late else 0.0)
        lag_maxes.append(max(late, default=0.0))
        time.sleep(1)
    gets = (stack.stats()["requests"].get(GET, 0) - before) / (time.monotonic() - started)
    return {
        "in_flight": Generation.objects.filter(team=team).in_flight().count(),
        "at_sandbox": at_sandbox(stack),
        "rss": max(s["VmRSS"] for s in samples) / 1024,
        "rss_first_last": (samples[0]["VmRSS"] // 1024, samples[-1]["VmRSS"] // 1024),
        "threads": max(s["Threads"] for s in samples),
        "gets": gets,
        "lag_p50": median(lag_p50s),
        "lag_max": max(lag_maxes),
    }


def follow_with_sdk(stack, steps, window) -> tuple[float, dict]:
    """The waiter's idle RSS (no thread started), and each step's figures."""
    results = {}
    notes = results["notes"] = []
    idle = None
    for n in [0, *steps]:
        stack.sandbox_admin("POST", "reset")
        stack.sandbox_admin("POST", "faults", {"running_seconds": RUNNING,
                                               "pending_seconds": 5})
        status_file = stack.dir / f"sdk-{n}.json"
        began = time.monotonic()
        waiter = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "_sdk_waiter.py"), stack.sandbox_url,
             "sandbox", str(n), str(status_file)],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            line = waiter.stdout.readline()
            if n == 0:
                time.sleep(1)
                idle = proc_status(waiter.pid)["VmRSS"] / 1024
                continue
            if not line.startswith("started"):
                notes.append(f"N={n}: the waiter did not start its threads "
                             f"({line.strip() or 'it exited'})")
                break
            # Every thread has posted its execution and is in its wait loop, or posting
            # stalled (measured all the same: the threads are there, fewer are in flight).
            posted, stalled = wait_posted(stack, waiter, n, began)
            if stalled:
                notes.append(f"N={n}: posting stalled at {at_sandbox(stack)} executions after "
                             f"{posted:.0f} s (under {STALL_SHARE:.0%} of N new in the last "
                             f"{STALL:.0f} s); {sdk_failures(status_file)}")
                print(f"sdk {notes[-1]}", flush=True)
            samples = []
            before = stack.stats()["requests"].get(GET, 0)
            started = time.monotonic()
            while time.monotonic() - started < window and waiter.poll() is None:
                samples.append(proc_status(waiter.pid))
                time.sleep(1)
            gets = (stack.stats()["requests"].get(GET, 0) - before) / (
                time.monotonic() - started)
            failures = sdk_failures(status_file)
            if waiter.poll() is not None or not samples:
                notes.append(f"N={n}: the process did not survive; {failures}")
                print(f"sdk {notes[-1]}", flush=True)
                break
            results[n] = {
                "at_sandbox": at_sandbox(stack),
                "posted_s": posted,
                "stalled": stalled,
                "rss": max(s["VmRSS"] for s in samples) / 1024,
                "threads": max(s["Threads"] for s in samples),
                "threads_last": samples[-1]["Threads"],
                "gets": gets,
                "failures": failures,
            }
            print(f"sdk N={n}: {results[n]}", flush=True)
            if samples[-1]["Threads"] < n + 1:  # a waiting thread ended: the SDK gave up on some
                notes.append(f"N={n}: {n + 1 - samples[-1]['Threads']} of the {n} waiting "
                             f"threads ended, their executions no longer followed; {failures}")
        finally:
            waiter.kill()
            waiter.wait()
    return idle, results


def wait_posted(stack, waiter, n: int, began: float) -> tuple[float, bool]:
    """Seconds until the sandbox has all n executions, and whether posting stalled
    (fewer than STALL_SHARE of n new in the last STALL seconds: at that pace the
    rest would take hours) or the waiter exited first."""
    history = deque()
    while time.monotonic() - began < SUBMIT_TIMEOUT:
        count, now = at_sandbox(stack), time.monotonic()
        if count >= n:
            return now - began, False
        if waiter.poll() is not None:
            break
        history.append((now, count))
        while history and history[0][0] < now - STALL:
            history.popleft()
        if now - began > STALL and count - history[0][1] < max(1, n * STALL_SHARE):
            break
        time.sleep(0.5)
    return time.monotonic() - began, True


def sdk_failures(status_file) -> str:
    """What the waiter's threads failed with, as it last wrote them."""
    try:
        failed = json.loads(status_file.read_text())["failed"]
    except (FileNotFoundError, ValueError, KeyError):
        return "no failures recorded"
    if not failed:
        return "no thread failed"
    return "threads failed: " + ", ".join(f"{kind} x{count}" for kind, count in failed.items())


if __name__ == "__main__":
    sys.exit(main())
