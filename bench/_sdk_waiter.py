"""The official SDK's way of following executions, for bench/inflight.py to measure:
one thread per execution, each blocked in `generate_image_and_wait` (POST, then
poll every 1.5 s, sleeping in between), as the SDK's documentation shows it,
with one client (its default connection pool) shared by the threads.

    python bench/_sdk_waiter.py BASE_URL API_KEY N [STATUS_FILE]

Prints "started N" once every thread is running (or "stopped at K: why" when
the K-th thread cannot be started); the parent counts the executions the
sandbox has, and samples this process from /proc. STATUS_FILE gets, every
second, what the threads failed with so far ({"failed": {kind: count}}).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from videogen import VideoGen


def main() -> None:
    base_url, api_key, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    status = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    client = VideoGen(api_key=api_key, base_url=base_url, timeout=120.0)
    failed: Counter[str] = Counter()

    def follow(n: int) -> None:
        try:
            client.tools.generate_image_and_wait(
                prompt=f"sdk {n}", aspect_ratio={"width": 1, "height": 1}, num_results=1
            )
        except Exception as exc:  # counted, not 10,000 tracebacks: the parent reports them
            failed[type(exc).__name__] += 1

    for n in range(count):
        try:
            threading.Thread(target=follow, args=(n,), daemon=True).start()
        except RuntimeError as exc:  # "can't start new thread": the limit is the figure
            print(f"stopped at {n}: {exc}", flush=True)
            if status:
                status.write_text(json.dumps({"failed": dict(failed), "started": n}))
            return
    print(f"started {count}", flush=True)
    while True:
        if status:
            status.write_text(json.dumps({"failed": dict(failed), "started": count}))
        time.sleep(1)


if __name__ == "__main__":
    main()
