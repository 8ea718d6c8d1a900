#!/usr/bin/env python
"""From "execution succeeded" in the sandbox to the card showing its images in
Chromium: p50/p95 with polling, then with webhooks.

    .venv/bin/python bench/card_latency.py [--generations 24]

Real processes: gunicorn, a prefork Celery worker, beat, the sandbox, a private
redis-server; headless Chromium (Playwright) on the studio page, signed in.
Generations are started one after another, each at a random moment (0-2 s)
after the previous one is shown, so they meet the page's update cycle at
every phase. An execution succeeds at its createdAt + pending +
running (the sandbox's own schedule); the card counts as visible when the
page shows it succeeded with every thumbnail decoded (a MutationObserver
stamps Date.now(); browser and sandbox share this machine's clock).
Executions run a random 2-10 s each (pending 1 s). Polling uses Studio's
default backoff (1.5 s, x1.3, up to 30 s); the page asks for updates every
2 s in both modes.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import datetime

from _harness import Stack, make_member, median, percentile, wait_until

PENDING = 1.0
# Each execution runs a random 2-10 s: a fixed length would meet the poll's
# backoff schedule at the same phase every time.
RUNNING = (2.0, 10.0)
PASSWORD = "bench bench bench"
OBSERVER = """
() => {
  window.__seen = {};
  const check = () => {
    for (const card of document.querySelectorAll('article.card[data-status="succeeded"]')) {
      const id = card.id.replace('generation-', '');
      if (window.__seen[id]) continue;
      const images = [...card.querySelectorAll('.batch img')];
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
    args = parser.parse_args()
    if args.smoke:
        args.generations = 2
    flags = ["--pending-seconds", str(PENDING)]
    with Stack("card-latency", sandbox_flags=flags) as stack:
        stack.start_services()
        stack.start_worker(concurrency=4)
        stack.start_beat()
        stack.start_web()
        user = make_member(password=PASSWORD)
        figures = {}
        from playwright.sync_api import sync_playwright

        from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

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
            for mode in ("polling", "webhooks"):
                if mode == "webhooks":
                    from django.core.management import call_command

                    call_command("register_webhook",
                                 url=f"{stack.web_url}/webhooks/videogen/", verbosity=0)
                page.goto("/")
                page.evaluate(OBSERVER)
                figures[mode] = run(stack, page, user, args.generations, mode)
            browser.close()

    print(f"\nCard latency, execution succeeded -> images visible in Chromium "
          f"({args.generations} generations each, pending {PENDING:g} s, "
          f"running {RUNNING[0]:g}-{RUNNING[1]:g} s):")
    for mode, values in figures.items():
        print(f"  {mode:9s} p50 {median(values):6.2f} s   p95 {percentile(values, 0.95):6.2f} s"
              f"   min {min(values):5.2f}   max {max(values):5.2f}")
    polling, hooks = figures["polling"], figures["webhooks"]
    print(f"  webhooks/polling: p50 {median(hooks) / median(polling):.2f}x, "
          f"p95 {percentile(hooks, 0.95) / percentile(polling, 0.95):.2f}x")


def run(stack, page, user, count: int, mode: str) -> list[float]:
    from studio.generations.models import Generation
    from studio.generations.services import generation_create
    from studio.videogen import client_from_settings

    team = user.teams.get()
    generations = []
    chance = random.Random(7)
    running = {}
    for n in range(count):
        # A random start: otherwise each run locks to the page's 2 s update cycle.
        time.sleep(chance.uniform(0, 2.0))
        seconds = round(chance.uniform(*RUNNING), 2)
        stack.sandbox_admin("POST", "faults", {"running_seconds": seconds})
        generation = generation_create(team=team, user=user, prompt=f"{mode} lighthouse {n}",
                                       aspect_ratio="1:1")
        generations.append(generation)
        running[generation.pk] = seconds
        wait_until(lambda g=generation: page.evaluate(f"window.__seen['{g.pk}']"), 90,
                   f"card {generation.pk} shown", interval=0.05)
    seen = page.evaluate("window.__seen")
    api = client_from_settings()
    latencies = []
    for generation in Generation.objects.filter(pk__in=[g.pk for g in generations]):
        execution = api.get_execution(generation.remote_execution_id)
        created = datetime.fromisoformat(execution.raw["createdAt"].replace("Z", "+00:00"))
        succeeded_at = created.timestamp() + PENDING + running[generation.pk]
        latencies.append(seen[str(generation.pk)] / 1000 - succeeded_at)
    print(f"{mode}: " + " ".join(f"{v:.2f}" for v in sorted(latencies)))
    time.sleep(0.5)
    return latencies


if __name__ == "__main__":
    main()
