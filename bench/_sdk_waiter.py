"""The official SDK's way of following executions, for bench/inflight.py to measure:
one thread per execution, each blocked in `generate_image_and_wait` (POST, then
poll every 1.5 s, sleeping in between), as the SDK's documentation shows it.

    python bench/_sdk_waiter.py BASE_URL API_KEY N

Prints "started N" once every thread is running; the parent counts the
executions the sandbox has, and samples this process from /proc.
"""

from __future__ import annotations

import sys
import threading
import time

from videogen import VideoGen


def main() -> None:
    base_url, api_key, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = VideoGen(api_key=api_key, base_url=base_url, timeout=120.0)

    def follow(n: int) -> None:
        client.tools.generate_image_and_wait(
            prompt=f"sdk {n}", aspect_ratio={"width": 1, "height": 1}, num_results=1
        )

    for n in range(count):
        threading.Thread(target=follow, args=(n,), daemon=True).start()
    print(f"started {count}", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
