#!/usr/bin/env python
"""From "execution succeeded" in the sandbox to the card showing its images in
Chromium: p50/p95 with polling only, with webhooks (page polling), and with
webhooks and push (the page's SSE stream).

    .venv/bin/python bench/card_latency.py [--generations 20]
    .venv/bin/python bench/card_latency.py --smoke     # 2 per mode, to keep it running

Real processes: uvicorn serving studio.asgi (as make run does; push off for
the first two modes), a prefork Celery worker, beat, the sandbox, a private
redis-server; headless Chromium (Playwright) on the studio page, signed in.
Generations are started one after another, each at a random moment (0-2 s)
after the previous one is shown, so they meet the page's update cycle at
every phase. An execution succeeds at its createdAt + pending +
running (the sandbox's own schedule); the card counts as visible when the
page shows it succeeded with every thumbnail decoded (a MutationObserver
stamps Date.now(); browser and sandbox share this machine's clock).
Executions run a random 2-10 s each (pending 1 s). Polling uses Studio's
default backoff (1.5 s, x1.3, up to 30 s); without push the page asks for
updates every 2 s. Also printed: Studio's own overhead, from the generation's
creation to its images visible, minus the execution's own time (pending +
running) -- the "Generate to visible" cost.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from urllib.parse import urlsplit

from _harness import Stack, make_member, median, percentile, wait_until

PENDING = 1.0
# Each execution runs a random 2-10 s: a fixed length would meet the poll's
# backoff schedule at the same phase every time.
RUNNING = (2.0, 10.0)
PASSWORD = "bench bench bench"
OBSERVER = """
() => {
  window.__seen = {};
  window.__swapped = {};
  const check = () => {
    for (const card of document.querySelectorAll('article.card[data-status="succeeded"]')) {
      const id = card.id.replace('generation-', '');
      if (window.__seen[id]) continue;
      const images = [...card.querySelectorAll('.batch img')];
      // The card with its <img> tags is in the page; the thumbnails may still load.
      if (images.length && !window.__swapped[id]) window.__swapped[id] = Date.now();
      if (images.length && images.every(i => i.complete && i.naturalWidth > 0)) {
        window.__seen[id] = Date.now();
      }
    }
  };
  new MutationObserver(check).observe(document.body,
    {subtree: true, childList: true, attributes: true});
  document.addEventListener('load', check, true);
  setInterval(check, 25);
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generations", type=int, default=20, help="per mode")
    parser.add_argument("--smoke", action="store_true", help="2 generations per mode")
    parser.add_argument("--embedded", action="store_true",
                        help="the embedded broker instead of Redis, as make run has it")
    args = parser.parse_args()
    if args.smoke:
        args.generations = 2
    flags = ["--pending-seconds", str(PENDING)]
    env = {"REDIS_URL": ""} if args.embedded else None
    with Stack("card-latency", sandbox_flags=flags, env=env) as stack:
        stack.start_services()
        stack.start_worker(concurrency=4)
        stack.start_beat()
        web = start_asgi(stack, push=False)
        user = make_member(password=PASSWORD)
        figures, overheads, hops = {}, {}, {}
        from playwright.sync_api import sync_playwright

        from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(base_url=stack.web_url,
                                    viewport={"width": 1280, "height": 2400})
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill(user.get_username())
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{stack.web_url}/")
            for mode in ("polling", "webhooks", "webhooks+push"):
                if mode == "webhooks":
                    from django.core.management import call_command

                    # What make run does at start (Procfile): its own receiver.
                    call_command("ensure_webhook",
                                 url=f"{stack.web_url}/webhooks/videogen/", verbosity=0)
                if mode == "webhooks+push":
                    web.stop()
                    web = start_asgi(stack, push=True)
                page.goto("/")
                page.evaluate(OBSERVER)
                if mode.endswith("push"):
                    page.wait_for_selector("body[data-live=open]", timeout=10_000)
                figures[mode], overheads[mode], hops[mode] = run(
                    stack, page, user, args.generations, mode)
            browser.close()

    broker = "embedded broker" if args.embedded else "Redis"
    print(f"\nCard latency ({broker}), execution succeeded -> images visible in Chromium "
          f"({args.generations} generations each, pending {PENDING:g} s, "
          f"running {RUNNING[0]:g}-{RUNNING[1]:g} s):")
    for mode, values in figures.items():
        print(f"  {mode:14s} p50 {median(values):6.2f} s   p95 {percentile(values, 0.95):6.2f} s"
              f"   min {min(values):5.2f}   max {max(values):5.2f}")
    print("Studio's overhead, created -> images visible, minus the execution's own time:")
    for mode, values in overheads.items():
        print(f"  {mode:14s} p50 {median(values):6.2f} s   p95 {percentile(values, 0.95):6.2f} s")
    print("Where the time goes (p50 / p95 of each hop, s): end = the sandbox's finish, "
          "webhook = received, moved = Studio's succeeded, stored = ingested, "
          "card = in the page, decoded = thumbnails shown:")
    for mode, table in hops.items():
        print(f"  {mode:14s} " + "  ".join(
            f"{name} {median(values):.2f}/{percentile(values, 0.95):.2f}"
            for name, values in table.items() if values))
    print(f"(load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


def start_asgi(stack: Stack, *, push: bool):
    """uvicorn on the stack's web port, push on or off (STUDIO_LIVE_PUSH)."""
    import httpx

    stack.env["STUDIO_LIVE_PUSH"] = "1" if push else "0"
    port = urlsplit(stack.web_url).port
    process = stack.start(f"web-push-{int(push)}", [
        sys.executable, "-m", "uvicorn", "studio.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--timeout-graceful-shutdown", "2", "--no-access-log"])

    def answers():
        try:
            return httpx.get(f"{stack.web_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, 30, "uvicorn")
    return process


def run(stack, page, user, count: int, mode: str):
    from studio.generations.models import Generation
    from studio.generations.services import generation_create

    team = user.teams.get()
    generations, created_at = [], {}
    chance = random.Random(7)
    running = {}
    for n in range(count):
        # A random start: otherwise each run locks to the page's 2 s update cycle.
        time.sleep(chance.uniform(0, 2.0))
        seconds = round(chance.uniform(*RUNNING), 2)
        stack.sandbox_admin("POST", "faults", {"running_seconds": seconds})
        generation = generation_create(team=team, user=user, prompt=f"{mode} lighthouse {n}",
                                       aspect_ratio="1:1")
        created_at[generation.pk] = time.time()
        generations.append(generation)
        running[generation.pk] = seconds
        wait_until(lambda g=generation: page.evaluate(f"window.__seen['{g.pk}']"), 90,
                   f"card {generation.pk} shown", interval=0.05)
    seen = page.evaluate("window.__seen")
    swapped = page.evaluate("window.__swapped")
    from studio.webhooks.models import WebhookDelivery

    # The moment the execution succeeded: the webhook's occurredAt (the sandbox's
    # own finish time) where one came; otherwise submitted_at + pending + running,
    # which is taken before the POST, so it errs early (a latency a little long).
    deliveries = {
        d.execution_id: d
        for d in WebhookDelivery.objects.filter(event__endswith="succeeded")
    }
    latencies, overheads = [], []
    # Hop by hop, each from the previous stamp: the sandbox's end, the webhook's
    # arrival (webhook modes), the move to succeeded, the ingest's end, the card
    # swapped into the page, its thumbnails decoded.
    hops = {name: [] for name in ("webhook", "moved", "stored", "card", "decoded")}
    for generation in Generation.objects.filter(pk__in=[g.pk for g in generations]):
        delivery = deliveries.get(generation.remote_execution_id)
        succeeded_at = (delivery.payload.get("occurredAt") if delivery else None) or (
            generation.submitted_at.timestamp() + PENDING + running[generation.pk])
        visible = seen[str(generation.pk)] / 1000
        latencies.append(visible - succeeded_at)
        overheads.append(visible - created_at[generation.pk] - PENDING - running[generation.pk])
        stamps = [succeeded_at]
        if delivery is not None:
            stamps.append(delivery.received_at.timestamp())
            hops["webhook"].append(stamps[-1] - stamps[-2])
        for name, at in (("moved", generation.finished_at.timestamp()),
                         ("stored", generation.ingested_at.timestamp()),
                         ("card", swapped.get(str(generation.pk), seen[str(generation.pk)]) / 1000),
                         ("decoded", visible)):
            hops[name].append(at - stamps[-1])
            stamps.append(at)
    print(f"{mode}: " + " ".join(f"{v:.2f}" for v in sorted(latencies)))
    time.sleep(0.5)
    return latencies, overheads, hops


if __name__ == "__main__":
    main()
