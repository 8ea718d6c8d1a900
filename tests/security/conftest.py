"""The browser of the e2e tests (Chromium through Playwright), for the security tests
that check what a page does in a real browser."""

from tests.e2e.conftest import CHROMIUM_ARGS, browser  # noqa: F401
