"""A fresh browser context per test, on the shared browser (tests/fixtures/browser.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import RESULTS_DIR

# As the pages' own default (10 s): expect()'s 5 s is short on a loaded CI machine.
expect.set_options(timeout=10_000)


@pytest.fixture
def page(browser, live_server) -> Page:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def results_dir() -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    return RESULTS_DIR
