#!/usr/bin/env python
"""Worker memory while ingesting 500 results of 4 MB each: it should stay flat.

    .venv/bin/python bench/ingest_memory.py [--generations 50] [--results 10]
    .venv/bin/python bench/ingest_memory.py --smoke   # 2 generations of 2 results

The sandbox pads every generated PNG to 4 MB (--result-padding-bytes, a
private PNG chunk decoders skip), so each result is a real 4 MB download that
the worker streams to a temporary file, checks, stores and thumbnails. One
prefork worker (2 processes in its pool); its RSS (parent + pool) is sampled
every 0.2 s from /proc and printed against the number of results stored.
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time

from _harness import Stack, family, proc_status, wait_until

PADDING = 4 * 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=50)
    parser.add_argument("--results", type=int, default=10, help="per generation")
    parser.add_argument("--smoke", action="store_true", help="2 generations of 2 results")
    args = parser.parse_args()
    if args.smoke:
        args.generations, args.results = 2, 2
    flags = ["--pending-seconds", "0.2", "--running-seconds", "0.5",
             "--result-padding-bytes", str(PADDING)]
    with Stack("ingest", sandbox_flags=flags,
               env={"STUDIO_RATE_LIMITS": "off", "STUDIO_LOG_LEVEL": "INFO"}) as stack:
        stack.start_services()
        worker = stack.start_worker(concurrency=2)
        from studio.generations.models import Generation, Result
        from studio.generations.services import generation_create
        from tests.fixtures.factories import make_user

        user = make_user("bench")
        team = user.teams.get()
        idle = sum(proc_status(p).get("VmRSS", 0) for p in family(worker.pid)) / 1024
        samples: list[tuple[float, int, float, float]] = []
        done = threading.Event()

        def sample():
            while not done.is_set():
                pids = family(worker.pid)
                sizes = [proc_status(p).get("VmRSS", 0) / 1024 for p in pids]
                stored = Result.objects.exclude(sha256="").count()
                samples.append((time.monotonic(), stored, sum(sizes), max(sizes[1:] or [0])))
                time.sleep(0.2)

        started = time.monotonic()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        pks = [generation_create(team=team, user=user, prompt=f"big {n}", aspect_ratio="1:1",
                                 num_results=args.results).pk
               for n in range(args.generations)]
        total = args.generations * args.results
        wait_until(lambda: not Generation.objects.filter(pk__in=pks).in_flight().exists(),
                   1800, "ingest", interval=1)
        elapsed = time.monotonic() - started
        done.set()
        sampler.join()
        stored = Result.objects.exclude(sha256="").count()
        sizes = list(Result.objects.values_list("bytes", flat=True))
        media = stack.dir / "var" / "media"
        shutil.rmtree(media, ignore_errors=True)  # some 2 GB

    print(f"\nWorker memory while ingesting {stored} of {total} results "
          f"(each {min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB), {elapsed:.0f} s, "
          f"{sum(sizes) / 1e6 / elapsed:.0f} MB/s; idle worker {idle:.0f} MB (parent + 2):")
    print("  results stored   worker RSS (all)   largest pool process")
    shown = set()
    for _, count, whole, largest in samples:
        bucket = count // 50 * 50
        if bucket not in shown and (bucket or count == 0):
            shown.add(bucket)
            print(f"  {count:14d}   {whole:10.0f} MB      {largest:10.0f} MB")
    early = [w for _, c, w, _ in samples if 50 <= c <= 150]
    late = [w for _, c, w, _ in samples if c >= total - 100]
    peak = max((w for _, _, w, _ in samples), default=0)
    if early and late:
        print(f"  peak {peak:.0f} MB; after 50-150 results max {max(early):.0f} MB, "
              f"last 100 max {max(late):.0f} MB: growth {max(late) - max(early):+.0f} MB "
              f"over {total - 150} more results of 4 MB")


    if stored < total:
        print(f"FAILED: {total - stored} of {total} results were not stored")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
