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
2. Delivery: T tabs of one team hold a stream each; the benchmark bumps the
   team's change counter once a second (Team.next_change_seq, as every change
   does, which publishes after commit); delivery = arrival in the client minus
   the publish time carried in the event. Then the same with every tab asking
   for its update (GET /generations/updates/) on each event, as the page
   does: the refresh's answer time counts too.
3. Polling today: the no-change poll (GET /generations/updates/?cursor=<now>,
   204) as fast as C keep-alive clients can send it, against gunicorn (the
   WSGI setup) and against uvicorn; tabs at one poll per 2 s = requests/s x 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time

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


async def open_stream(port: int, cookie: str, on_event, ready: asyncio.Event | None = None):
    """One EventSource-like connection: calls on_event(name, data, arrived) per event."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**16)
    writer.write(f"GET /live/stream/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
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


async def get(reader, writer, path: str, cookie: str) -> int:
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
    if chunked:
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


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


async def delivery(port, cookie, team_pk, tabs, seconds, refresh: bool) -> dict:
    from asgiref.sync import sync_to_async

    from studio.teams.models import Team

    latencies: list[float] = []
    refreshes: list[asyncio.Task] = []
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(tabs)] \
        if refresh else []
    locks = [asyncio.Lock() for _ in connections]

    async def answer(n, seq, sent):
        async with locks[n]:
            reader, writer = connections[n]
            await get(reader, writer, f"/generations/updates/?cursor={seq - 1}", cookie)
        latencies.append(time.time() - sent)

    def on_event_for(n):
        def on_event(name, data, arrived):
            if name != "change":
                return
            payload = json.loads(data)
            if refresh:
                refreshes.append(asyncio.create_task(answer(n, payload["seq"], payload["t"])))
            else:
                latencies.append(arrived - payload["t"])
        return on_event

    readies = [asyncio.Event() for _ in range(tabs)]
    tasks = [asyncio.create_task(open_stream(port, cookie, on_event_for(n), readies[n]))
             for n in range(tabs)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
    bump = sync_to_async(lambda: Team(pk=team_pk).next_change_seq(), thread_sensitive=False)
    for _ in range(seconds):
        await bump()
        await asyncio.sleep(1)
    await asyncio.sleep(1.5)
    await asyncio.gather(*refreshes, return_exceptions=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _, writer in connections:
        writer.close()
    expected = tabs * seconds
    return {"tabs": tabs, "changes": seconds, "received": len(latencies), "expected": expected,
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
                statuses.add(await get(reader, writer, path, cookie))
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
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to keep it running")
    args = parser.parse_args()
    if args.smoke:
        args.streams, args.tabs, args.seconds, args.poll_clients = 50, 10, 3, 4
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.streams * 2 + 200)), hard))

    with Stack("capacity", env=BENCH_ENV) as stack:
        stack.start_services()
        from django.test import Client

        from tests.fixtures.factories import make_user

        user = make_user("capacity")
        team = user.teams.get()
        client = Client()
        client.force_login(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        cursor = team.next_change_seq()

        asgi_port, wsgi_port = free_port(), free_port()
        uvicorn = start_http(stack, "uvicorn", [
            sys.executable, "-m", "uvicorn", "studio.asgi:application", "--host", "127.0.0.1",
            "--port", str(asgi_port), "--no-access-log", "--log-level", "warning",
            "--backlog", "4096", "--timeout-graceful-shutdown", "2"], asgi_port)
        figures = {}
        figures["idle"] = asyncio.run(
            idle_streams(asgi_port, cookie, uvicorn.pid, args.streams, args.seconds))
        figures["delivery"] = asyncio.run(
            delivery(asgi_port, cookie, team.pk, args.tabs, args.seconds, refresh=False))
        figures["delivery_refresh"] = asyncio.run(
            delivery(asgi_port, cookie, team.pk, args.tabs, args.seconds, refresh=True))
        cursor = team.__class__.objects.get(pk=team.pk).change_seq
        figures["poll_uvicorn"] = asyncio.run(
            polling(asgi_port, cookie, cursor, args.poll_clients, args.seconds))
        uvicorn.stop()
        start_http(stack, "gunicorn", [
            sys.executable, "-m", "gunicorn", "studio.wsgi", "--bind", f"127.0.0.1:{wsgi_port}",
            "--workers", "4", "--threads", "4"], wsgi_port)
        figures["poll_gunicorn"] = asyncio.run(
            polling(wsgi_port, cookie, cursor, args.poll_clients, args.seconds))

    idle, push, full = figures["idle"], figures["delivery"], figures["delivery_refresh"]
    print(f"(load average at the end: {os.getloadavg()[0]:.1f})")
    print(f"\nCapacity on one host ({os.cpu_count()} cores), SQLite, Redis fan-out"
          f"{' [smoke]' if args.smoke else ''}:")
    print(f"  idle streams: {idle['streams']} open in {idle['open_seconds']:.0f} s "
          f"({idle['failed_open']} failed to open, {idle['dropped']} dropped), server CPU "
          f"{idle['cpu_pct_of_one_core']:.1f} % of one core over {args.seconds} s; RSS "
          f"{idle['rss_before_kb'] / 1024:.0f} -> {idle['rss_open_kb'] / 1024:.0f} MiB, "
          f"{idle['per_stream_kb']:.1f} KiB per stream")
    for label, row in (("event delivery", push), ("event + refresh answered", full)):
        print(f"  {label}: {row['tabs']} tabs x {row['changes']} changes (1/s), "
              f"{row['received']}/{row['expected']} received, p50 {row['p50'] * 1000:.0f} ms, "
              f"p95 {row['p95'] * 1000:.0f} ms, max {row['max'] * 1000:.0f} ms")
    for label, key in (("gunicorn 4x4 (WSGI, today)", "poll_gunicorn"),
                       ("uvicorn 1 process (ASGI)", "poll_uvicorn")):
        row = figures[key]
        print(f"  no-change polls, {label}: {row['requests_per_s']:.0f} req/s "
              f"(statuses {row['statuses']}) = {row['tabs_at_2s']:.0f} tabs at one poll per 2 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
