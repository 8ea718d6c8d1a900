"""In Chromium, the pages a member uses break none of the Content Security
Policy: every script and style they run is allowed by it (no inline style, no
script without the nonce), so the browser reports no violation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.fixtures.browser import sign_in
from tests.fixtures.factories import make_user
from tests.gallery.factories import make_results

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough passphrase"
# Installed before any page script runs, so no violation can happen unseen.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


def test_member_pages_report_no_policy_violation(page, live_server):
    user = make_user("ines", PASSWORD)
    make_results(user.teams.get(), user, 3, prompt="A paper crane on a desk")
    page.context.add_init_script(script=RECORD_VIOLATIONS)
    sign_in(page, live_server.url, "ines", PASSWORD)

    for name in ("studio", "gallery", "team_settings"):
        page.goto(reverse(name))
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__violations") == [], name

    # The recorder hears a violation when there is one: an inline style is refused.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.__violations")[0].startswith("style-src")
