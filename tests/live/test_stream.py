"""/live/stream/ under uvicorn: only a signed-in member gets a stream, and it
carries their current team's changes only."""

from __future__ import annotations

import threading

import httpx
import pytest

from studio.teams.models import Team
from tests.fixtures.asgi import AsgiServer
from tests.fixtures.factories import make_user


@pytest.fixture
def asgi(transactional_db, settings):
    settings.STUDIO_LIVE_PUSH = True
    server = AsgiServer()
    server.start()
    yield server
    server.close()


def _signed_in(asgi, user) -> httpx.Client:
    from django.test import Client

    client = Client()
    client.force_login(user)
    http = httpx.Client(base_url=asgi.url, timeout=5)
    http.cookies.set("sessionid", client.cookies["sessionid"].value)
    return http


def test_refused_without_a_session_or_by_post(asgi):
    assert httpx.get(f"{asgi.url}/live/stream/").status_code == 403
    forged = httpx.get(f"{asgi.url}/live/stream/", cookies={"sessionid": "nonsense"})
    assert forged.status_code == 403
    assert httpx.post(f"{asgi.url}/live/stream/").status_code == 405


def test_a_member_hears_their_team_only(asgi):
    alice, bob = make_user("alice"), make_user("bob")
    lines: list[str] = []
    opened = threading.Event()

    def listen():
        with _signed_in(asgi, alice).stream("GET", "/live/stream/") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["x-accel-buffering"] == "no"
            for line in response.iter_lines():
                lines.append(line)
                if line == "event: hello":
                    opened.set()
                if line.startswith("data:") and '"seq"' in line:
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert opened.wait(5)
    for _ in range(3):  # bob's team (seq 1-3): not for alice
        Team.objects.get(memberships__user=bob).next_change_seq()
    Team.objects.get(memberships__user=alice).next_change_seq()
    thread.join(5)
    events = [line for line in lines if line.startswith("event:")]
    assert events == ["event: hello", "event: change"]
    assert lines[-1].startswith('data: {"seq": 1')
