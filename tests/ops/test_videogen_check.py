"""manage.py videogen_check against the sandbox: one paid call, every assumption asked."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from studio.videogen import assumptions


@pytest.fixture
def box(settings, sandbox_factory):
    box = sandbox_factory("--pending-seconds", "0.1", "--running-seconds", "0.2")
    settings.VIDEOGEN_BASE_URL = box.base_url
    settings.VIDEOGEN_API_KEY = box.api_key
    yield box
    box.stop()


def _check(**options) -> str:
    out = io.StringIO()
    call_command("videogen_check", stdout=out, **options)
    return out.getvalue()


def test_every_assumption_holds_on_the_sandbox_for_one_image(box):
    out = _check()

    for name, _ in assumptions.ASSUMPTIONS:
        assert f"holds         {name}" in out, out
    assert "1 paid tool call(s) accepted" in out
    assert "0 do not, 0 unknown" in out
    # One accepted tool call, one image, temporary; the refused probes started nothing.
    assert box.stats()["executions"] == {"GENERATE_IMAGE": 1}


def test_with_the_add_on_the_no_watermark_call_is_the_paid_one(box):
    box.faults(production_addon=True)

    out = _check()

    assert "unknown       WATERMARK_REFUSED_STATUS" in out
    assert "NONE was accepted" in out
    assert box.stats()["executions"] == {"GENERATE_IMAGE": 1}


def test_an_assumption_that_no_longer_holds_is_named_and_fails_the_command(box, monkeypatch):
    # As if VideoGen had changed: Studio's constant no longer matches its answer.
    monkeypatch.setattr(assumptions, "WATERMARK_REFUSED_STATUS", 400)

    with pytest.raises(CommandError, match="1 assumption"):
        _check()


def test_without_a_running_sandbox_one_is_started_and_asked(settings, db):
    settings.VIDEOGEN_BASE_URL = "http://127.0.0.1:9"  # nothing listens there

    out = _check(timeout=60)

    assert "asking the sandbox at http://127.0.0.1:" in out
    assert "0 do not" in out
