"""Pushed cards under uvicorn: the studio page's stream (?cards=1) carries the
update endpoint's own answer, rendered once per viewer per process, and only
ever the answer that viewer's own request would get."""

from __future__ import annotations

import json
import re
import threading
import time

import httpx
import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from studio.generations.models import Generation
from studio.live.hub import _hubs
from studio.teams.models import Membership
from tests.fixtures.asgi import AsgiServer
from tests.fixtures.factories import make_member, make_user
from tests.review.conftest import State, set_policy, stored_generation

Role = Membership.Role


@pytest.fixture(params=["redis", "embedded"])
def asgi(request, transactional_db, settings, tmp_path):
    settings.STUDIO_LIVE_PUSH = True
    settings.STUDIO_LIVE_PUSH_CARDS = True
    if request.param == "embedded":
        settings.REDIS_URL = ""
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"path": str(tmp_path / "broker.sqlite3")}
        settings.STUDIO_LIVE_POLL_INTERVAL = 0.02
    server = AsgiServer()
    server.start()
    yield server
    server.close()


def session_of(user) -> dict:
    """A browser's cookies after opening the studio: its session and CSRF cookie."""
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 200
    return {name: morsel.value for name, morsel in client.cookies.items()}


class Tab:
    """One open page's stream, read on a thread: its events, in order."""

    def __init__(self, asgi, cookies: dict, cards: bool = True):
        self.events: list[tuple[str, dict]] = []
        self.opened = threading.Event()
        url = f"{asgi.url}/live/stream/" + ("?cards=1" if cards else "")
        self._thread = threading.Thread(target=self._read, args=(url, cookies), daemon=True)
        self._thread.start()
        assert self.opened.wait(5), "the stream did not open"

    def _read(self, url, cookies):
        name = None
        try:
            with httpx.stream("GET", url, cookies=cookies, timeout=30) as response:
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        if name == "hello":
                            self.opened.set()
                        elif name != "ping":
                            self.events.append((name, json.loads(line[6:])))
        except httpx.HTTPError:
            pass  # the server stopped at the end of the test

    def wait(self, count=1, timeout=10) -> list[tuple[str, dict]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.events) >= count, f"got {self.events}"
        return self.events


def subscribed():
    # The process's one subscription is up (Redis SUBSCRIBE, or the first read
    # of the embedded table) a moment after the first stream opened it.
    time.sleep(0.3)


def renders(asgi) -> int:
    return _hubs[id(asgi._loop)].renders


def own_answer(cookies: dict, cursor: int) -> str:
    client = Client()
    client.cookies.load(cookies)
    response = client.get("/generations/updates/", {"cursor": cursor}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def unmasked(html: str) -> str:
    # CSRF tokens are masked afresh on every render; the secret behind them is the same.
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "csrf", html)
    # "4 seconds ago" becomes "5 seconds ago" when the own request comes a second later.
    return re.sub(r"data-relative>[^<]*<", "data-relative><", html)


def thumbnail(result) -> str:
    return f"/media/results/{result.pk}/thumbnail/"


def test_each_viewer_gets_their_own_answer_once_and_no_other_team_hears(asgi):
    owner = make_user("olivia")
    team = owner.teams.get()
    creator = make_member(team, Role.MEMBER, "carla", personal_team=False)
    member = make_member(team, Role.MEMBER, "mona", personal_team=False)
    stranger = make_user("bob")  # another team
    set_policy(team, require_approval=True)
    generation = stored_generation(team, creator, states=(State.PENDING, State.APPROVED))
    pending, approved = generation.results.order_by("position")

    owners_session = session_of(owner)
    owner_tabs = [Tab(asgi, owners_session), Tab(asgi, owners_session)]
    members_session = session_of(member)
    member_tab = Tab(asgi, members_session)
    stranger_tab = Tab(asgi, session_of(stranger))
    events_only = Tab(asgi, owners_session, cards=False)  # another page of the owner's
    subscribed()
    before = renders(asgi)

    Generation.objects.get(pk=generation.pk).touch()
    seq = Generation.objects.get(pk=generation.pk).seq

    [(name, first)] = owner_tabs[0].wait()
    [(name2, second)] = owner_tabs[1].wait()
    assert (name, name2) == ("update", "update")
    assert first == second  # one render, framed once, sent to both tabs
    assert (first["seq"], first["from"], first["to"]) == (seq, seq - 1, seq)
    # Exactly what the owner's own poll would have been answered.
    assert unmasked(first["html"]) == unmasked(own_answer(owners_session, seq - 1))
    assert thumbnail(pending) in first["html"] and thumbnail(approved) in first["html"]

    [(name, theirs)] = member_tab.wait()
    assert name == "update"
    assert thumbnail(approved) in theirs["html"]
    assert thumbnail(pending) not in theirs["html"]  # awaiting review: not for a member
    assert unmasked(theirs["html"]) == unmasked(own_answer(members_session, seq - 1))

    [(name, plain)] = events_only.wait()
    assert name == "change" and plain["seq"] == seq and "html" not in plain
    assert renders(asgi) - before == 2  # the owner (two tabs) and the member
    time.sleep(0.3)
    assert stranger_tab.events == []


def test_a_viewer_who_signed_out_is_told_changed_and_sent_nothing(asgi):
    owner = make_user("olivia")
    team = owner.teams.get()
    member = make_member(team, Role.MEMBER, "mona", personal_team=False)
    generation = stored_generation(team, owner, states=(State.APPROVED,))
    cookies = session_of(member)
    member_tab, owner_tab = Tab(asgi, cookies), Tab(asgi, session_of(owner))
    subscribed()

    Session.objects.filter(session_key=cookies["sessionid"]).delete()  # signed out elsewhere
    Generation.objects.get(pk=generation.pk).touch()

    [(name, payload)] = member_tab.wait()
    assert name == "change" and "html" not in payload
    assert owner_tab.wait()[0][0] == "update"


def test_a_storm_of_changes_coalesces_and_the_updates_chain(asgi):
    owner = make_user("olivia")
    team = owner.teams.get()
    generation = stored_generation(team, owner, states=(State.APPROVED,))
    tab = Tab(asgi, session_of(owner))
    subscribed()
    before = renders(asgi)

    for _ in range(30):
        Generation.objects.get(pk=generation.pk).touch()
    last = Generation.objects.get(pk=generation.pk).seq

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        p.get("to", p.get("seq")) == last for _, p in tab.events
    ):
        time.sleep(0.05)
    updates = [p for name, p in tab.events if name == "update"]
    assert updates and updates[-1]["to"] == last, tab.events
    # Each update applies where the one before left the page: a tab that applied
    # them all has every change, and never the same new card twice.
    for earlier, later in zip(updates, updates[1:], strict=False):
        assert later["from"] == earlier["to"]
    assert renders(asgi) - before < 30
