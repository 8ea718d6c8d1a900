#!/usr/bin/env python
"""Capacity of one host: pushed live updates against today's polling, in one run.

    .venv/bin/python bench/capacity.py [--streams 5000] [--tabs 500] [--seconds 20]
    .venv/bin/python bench/capacity.py --smoke      # tiny sizes, well under a minute

Real processes: a private redis-server, uvicorn serving studio.asgi (one
process, production settings, Redis fan-out), and for today's figure gunicorn
with 4 workers x 4 threads serving studio.wsgi, on this machine's SQLite.
The load comes from this process, over loopback, with a small raw HTTP/1.1
client on asyncio (it shares the 2 cores with the server, as it would in
any one-host test).

1. Idle streams: N signed-in streams open at once and stay idle; the server's
   CPU (utime+stime from /proc, % of one core) over the window, and its RSS
   before and after (memory per stream).
2. Delivery: T tabs of one team hold a stream each; the benchmark changes a
   card once a second (Generation.touch(): a 4-image card, as ingest or a
   review changes it; it publishes after commit). Timed from just before the
   write: (a) the event's arrival; (b) today's page: events only, each tab then
   asks GET /generations/updates/ and has the change when the answer is in;
   (c) the studio stream (?cards=1) carries the cards, rendered once per
   viewer, applied like live.js does (from the tab's own cursor, else it
   asks); (d) as (c) with the tabs spread over V members (V renders a change).
3. Polling today: the no-change poll (GET /generations/updates/?cursor=<now>,
   204) as fast as C keep-alive clients can send it, against gunicorn (the
   WSGI setup) and against uvicorn; tabs at one poll per 2 s = requests/s x 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import sys
import time
from pathlib import Path

from _harness import Stack, free_port, median, percentile, proc_status, wait_until

BENCH_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-only-not-a-secret",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "STUDIO_LOG_LEVEL": "WARNING",
    "STUDIO_LIVE_PUSH": "1",
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# --- a small HTTP/1.1 client: thousands of connections cost little here -------------


async def open_stream(port: int, cookie: str, on_event, ready: asyncio.Event | None = None,
                      cards: bool = False):
    """One EventSource-like connection: calls on_event(name, data, arrived) per event."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**22)
    path = "/live/stream/?cards=1" if cards else "/live/stream/"
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    status = (await reader.readline()).split(b" ", 2)[1]
    if status != b"200":
        raise RuntimeError(f"stream answered {status.decode()}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    name, data = None, None
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            line = line.rstrip(b"\r\n")
            # chunked framing: size lines are hex, blank lines separate chunks/events
            if line.startswith(b"event: "):
                name = line[7:].decode()
            elif line.startswith(b"data: "):
                data = line[6:]
                arrived = time.time()
                if name == "hello" and ready is not None:
                    ready.set()
                on_event(name, data, arrived)
                name, data = None, None
    finally:
        writer.close()


async def get(reader, writer, path: str, cookie: str) -> tuple[int, bytes]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                 "HX-Request: true\r\n\r\n".encode())
    status = int((await reader.readline()).split(b" ", 2)[1])
    length, chunked = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        key, _, value = line.decode("latin-1").partition(":")
        if key.lower() == "content-length":
            length = int(value)
        elif key.lower() == "transfer-encoding" and "chunked" in value:
            chunked = True
    body = b""
    if chunked:
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            body += (await reader.readexactly(size + 2))[:-2]
            if size == 0:
                break
    elif length:
        body = await reader.readexactly(length)
    return status, body


# --- the three measurements -------------------------------------------------------


async def idle_streams(port, cookie, server_pid, count, seconds) -> dict:
    rss_before = proc_status(server_pid).get("VmRSS", 0)
    opening = asyncio.Semaphore(100)  # a ramp, not a SYN flood: 100 opening at a time
    tasks = []
    started = time.monotonic()

    async def one():
        ready = asyncio.Event()
        await opening.acquire()
        task = asyncio.create_task(open_stream(port, cookie, lambda *a: None, ready))
        tasks.append(task)
        try:
            await asyncio.wait_for(asyncio.shield(ready.wait()), 60)
        finally:
            opening.release()

    results = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    failed_open = sum(isinstance(r, BaseException) for r in results)
    open_seconds = time.monotonic() - started
    await asyncio.sleep(2)  # settle after the ramp
    rss_open = proc_status(server_pid).get("VmRSS", 0)
    cpu0, t0 = cpu_seconds(server_pid), time.monotonic()
    await asyncio.sleep(seconds)
    cpu = (cpu_seconds(server_pid) - cpu0) / (time.monotonic() - t0) * 100
    failed = [t for t in tasks if t.done()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"streams": count - failed_open, "failed_open": failed_open,
            "open_seconds": open_seconds, "cpu_pct_of_one_core": cpu, "rss_before_kb": rss_before,
            "rss_open_kb": rss_open,
            "per_stream_kb": (rss_open - rss_before) / max(1, count - failed_open),
            "dropped": len(failed)}


CURSOR = re.compile(rb'id="gallery-cursor"[^>]*value="(\d+)"')


class Tab:
    """One studio page as live.js drives it: its gallery cursor; a pushed update
    that applies from that cursor is swapped in, anything else makes it ask
    GET /generations/updates/?cursor=<its cursor>, one request at a time.
    A change counts as delivered when the tab's cursor passes it (it has the
    HTML), timed from just before the benchmark's write."""

    def __init__(self, port, cookie, cursor, arrivals, counts):
        self.port, self.cookie, self.cursor = port, cookie, cursor
        self.arrivals, self.counts = arrivals, counts
        self.lock = asyncio.Lock()
        self.connection = None
        self.tasks: list[asyncio.Task] = []

    def advance(self, cursor: int, arrived: float) -> None:
        self.arrivals.extend((seq, arrived) for seq in range(self.cursor + 1, cursor + 1))
        self.cursor = max(self.cursor, cursor)

    async def fetch(self, wanted: int | None) -> None:
        async with self.lock:
            if wanted is not None and self.cursor >= wanted:
                return  # the answer to an earlier ask already had it
            if self.connection is None:
                self.connection = await asyncio.open_connection("127.0.0.1", self.port)
            reader, writer = self.connection
            status, body = await get(reader, writer, f"/generations/updates/?cursor={self.cursor}",
                                     self.cookie)
            self.counts["fetched"] += 1
            found = CURSOR.search(body)
            if status == 200 and found:
                self.advance(int(found[1]), time.time())

    async def pushed(self, update: dict, arrived: float) -> None:
        async with self.lock:
            if update["from"] == self.cursor:
                self.counts["applied"] += 1
                self.advance(update["to"], arrived)
                return
            if self.cursor >= update["to"]:
                return
        await self.fetch(update["to"])

    def on_event(self, name, data, arrived):
        if name == "update":
            self.tasks.append(asyncio.create_task(self.pushed(json.loads(data), arrived)))
        elif name == "change":
            seq = json.loads(data).get("seq")
            self.tasks.append(asyncio.create_task(self.fetch(seq)))


async def delivery(port, cookies, team_pk, generation_pk, tabs, seconds, mode: str,
                   settle: float = 3.0) -> dict:
    """mode: "event" (the event's arrival), "fetch" (events only; every tab asks for
    its cards, today), "cards" (the stream carries the cards)."""
    from asgiref.sync import sync_to_async

    from studio.generations.models import Generation
    from studio.teams.models import Team

    cursor = await sync_to_async(
        lambda: Team.objects.values_list("change_seq", flat=True).get(pk=team_pk))()
    arrivals: list[tuple[int, float]] = []
    sent: dict[int, float] = {}
    counts = {"applied": 0, "fetched": 0}
    pages = [Tab(port, cookies[n % len(cookies)], cursor, arrivals, counts)
             for n in range(tabs)]

    def on_event_for(page):
        def on_event(name, data, arrived):
            if mode == "event":
                if name == "change":
                    arrivals.append((json.loads(data).get("seq"), arrived))
            else:
                page.on_event(name, data, arrived)
        return on_event

    readies = [asyncio.Event() for _ in range(tabs)]
    tasks = [asyncio.create_task(open_stream(port, page.cookie, on_event_for(page), readies[n],
                                             cards=mode == "cards"))
             for n, page in enumerate(pages)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)

    def change():
        # A real card changes (its generation is touched), as ingest or a review does.
        generation = Generation.objects.get(pk=generation_pk)
        started = time.time()
        generation.touch()
        sent[generation.seq] = started

    bump = sync_to_async(change, thread_sensitive=False)
    for _ in range(seconds):
        await bump()
        await asyncio.sleep(1)
    await asyncio.sleep(settle)
    for page in pages:
        await asyncio.gather(*page.tasks, return_exceptions=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for page in pages:
        if page.connection is not None:
            page.connection[1].close()
    # Only the benchmark's own changes count (not the page's starting cursor).
    latencies = [arrived - sent[seq] for seq, arrived in arrivals if seq in sent]
    expected = tabs * seconds
    return {"tabs": tabs, "viewers": len(cookies), "changes": seconds,
            "received": len(latencies), "expected": expected, **counts,
            "p50": median(latencies), "p95": percentile(latencies, 0.95),
            "max": max(latencies) if latencies else float("nan")}


async def polling(port, cookie, cursor, clients, seconds) -> dict:
    path = f"/generations/updates/?cursor={cursor}&idle=1"
    counts, statuses = [0] * clients, set()
    deadline = time.monotonic() + seconds

    async def client(n):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < deadline:
            try:
                statuses.add((await get(reader, writer, path, cookie))[0])
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()  # the server closed a keep-alive connection: open another
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            counts[n] += 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    rate = sum(counts) / (time.monotonic() - started)
    return {"requests_per_s": rate, "tabs_at_2s": rate * 2, "statuses": sorted(statuses)}


def start_http(stack: Stack, name: str, command: list[str], port: int):
    import httpx

    process = stack.start(name, command)

    def answers():
        if process.popen.poll() is not None:
            raise RuntimeError(process.log_text()[-2000:])
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, 30, name)
    return process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=5000, help="idle streams (goal 5,000)")
    parser.add_argument("--tabs", type=int, default=500, help="tabs of one team (goal 500)")
    parser.add_argument("--seconds", type=int, default=20, help="length of each window")
    parser.add_argument("--poll-clients", type=int, default=32)
    parser.add_argument("--viewers", type=int, default=50,
                        help="distinct members the tabs belong to, in the last delivery row")
    parser.add_argument("--delivery-only", action="store_true",
                        help="only the delivery rows (no idle streams, no polling)")
    parser.add_argument("--rows", default="event,fetch,cards,viewers",
                        help="which delivery rows, of event,fetch,cards,viewers")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to keep it running")
    args = parser.parse_args()
    if args.smoke:
        args.streams, args.tabs, args.seconds, args.poll_clients, args.viewers = 50, 10, 3, 4, 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.streams * 2 + 200)), hard))

    with Stack("capacity", env=BENCH_ENV) as stack:
        stack.start_services()
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client

        from studio.teams.models import Membership
        from tests.fixtures.factories import make_member, make_user
        from tests.gallery.factories import make_results

        if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():  # DEBUG off wants it
            call_command("collectstatic", interactive=False, verbosity=0)

        def browser_cookie(member) -> str:
            # As a browser has it after opening the studio: session (its team
            # noted) and CSRF cookie; pushed cards are rendered with exactly these.
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(member)
            assert client.get("/").status_code == 200
            return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())

        user = make_user("capacity")
        team = user.teams.get()
        cookie = browser_cookie(user)
        members = [make_member(team, Membership.Role.MEMBER, f"capacity-{n}", personal_team=False)
                   for n in range(1, args.viewers)]
        viewers = [cookie, *(browser_cookie(m) for m in members)]
        # The card that changes every second: four stored images, like a real batch.
        generation = make_results(team, user, 4, aspect_ratio="1:1")[0].generation
        cursor = team.next_change_seq()

        asgi_port, wsgi_port = free_port(), free_port()
        uvicorn = start_http(stack, "uvicorn", [
            sys.executable, "-m", "uvicorn", "studio.asgi:application", "--host", "127.0.0.1",
            "--port", str(asgi_port), "--no-access-log", "--log-level", "warning",
            "--backlog", "4096", "--timeout-graceful-shutdown", "2"], asgi_port)
        figures = {}
        if not args.delivery_only:
            figures["idle"] = asyncio.run(
                idle_streams(asgi_port, cookie, uvicorn.pid, args.streams, args.seconds))
        rows = [row for row in (
            ("event", "event", "event only (the stream's event arrives)", [cookie]),
            ("fetch", "fetch", "event, then each tab asks for its cards", [cookie]),
            ("cards", "cards", "cards pushed, 1 viewer", [cookie]),
            ("viewers", "cards", f"cards pushed, {len(viewers)} viewers", viewers),
        ) if row[0] in args.rows.split(",")]
        for n, (_, mode, label, cookies) in enumerate(rows):
            cpu0, t0 = cpu_seconds(uvicorn.pid), time.monotonic()
            row = asyncio.run(delivery(asgi_port, cookies, team.pk, generation.pk, args.tabs,
                                       args.seconds, mode, 1.0 if args.smoke else 3.0))
            row["cpu"] = (cpu_seconds(uvicorn.pid) - cpu0) / (time.monotonic() - t0) * 100
            figures[f"delivery{n}"] = (label, row)
        if not args.delivery_only:
            cursor = team.__class__.objects.get(pk=team.pk).change_seq
            figures["poll_uvicorn"] = asyncio.run(
                polling(asgi_port, cookie, cursor, args.poll_clients, args.seconds))
        uvicorn.stop()
        if not args.delivery_only:
            start_http(stack, "gunicorn", [
                sys.executable, "-m", "gunicorn", "studio.wsgi", "--bind",
                f"127.0.0.1:{wsgi_port}", "--workers", "4", "--threads", "4"], wsgi_port)
            figures["poll_gunicorn"] = asyncio.run(
                polling(wsgi_port, cookie, cursor, args.poll_clients, args.seconds))

    print(f"(load average at the end: {os.getloadavg()[0]:.1f})")
    print(f"\nCapacity on one host ({os.cpu_count()} cores), SQLite, Redis fan-out"
          f"{' [smoke]' if args.smoke else ''}:")
    if "idle" in figures:
        idle = figures["idle"]
        print(f"  idle streams: {idle['streams']} open in {idle['open_seconds']:.0f} s "
              f"({idle['failed_open']} failed to open, {idle['dropped']} dropped), server CPU "
              f"{idle['cpu_pct_of_one_core']:.1f} % of one core over {args.seconds} s; RSS "
              f"{idle['rss_before_kb'] / 1024:.0f} -> {idle['rss_open_kb'] / 1024:.0f} MiB, "
              f"{idle['per_stream_kb']:.1f} KiB per stream")
    print(f"  delivery, {args.tabs} tabs of one team x {args.seconds} changes (1/s), "
          "from the write to the tab having it:")
    for n in range(len(rows)):
        label, row = figures[f"delivery{n}"]
        print(f"    {label}: {row['received']}/{row['expected']} delivered, "
              f"p50 {row['p50'] * 1000:.0f} ms, p95 {row['p95'] * 1000:.0f} ms, "
              f"max {row['max'] * 1000:.0f} ms; {row['applied']} pushed updates applied, "
              f"{row['fetched']} asked; server CPU {row['cpu']:.0f} % of one core")
    if args.delivery_only:
        return 0
    for label, key in (("gunicorn 4x4 (WSGI, today)", "poll_gunicorn"),
                       ("uvicorn 1 process (ASGI)", "poll_uvicorn")):
        row = figures[key]
        print(f"  no-change polls, {label}: {row['requests_per_s']:.0f} req/s "
              f"(statuses {row['statuses']}) = {row['tabs_at_2s']:.0f} tabs at one poll per 2 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
