"""The dispatcher: fair share across teams and members, one claim per call of
the key's budget, places that move at once, and a 429 that loses nothing."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio.generations import dispatch
from studio.generations.budget import QueueView
from studio.generations.models import ApiUsage, Generation, Status
from studio.generations.services import generation_create
from studio.generations.tasks import dispatch_work
from studio.videogen import RateLimitedError, VideoGenClient, budget_from_settings
from tests.conftest import delete_redis_keys, wait_for
from tests.fixtures.factories import make_member, make_user, tasks_on_commit

T0 = timezone.now() - timedelta(hours=1)


def at(minutes: int):
    return T0 + timedelta(minutes=minutes)


def test_fair_order_rotates_teams_then_members_then_oldest_first():
    rows = [
        # team 1: member 10 asked for three, member 11 for one; team 2: one
        (1, 1, 10, at(0)), (2, 1, 10, at(1)), (3, 1, 10, at(2)), (4, 1, 11, at(3)),
        (5, 2, 20, at(4)),
    ]
    assert dispatch.fair_order(rows, {}, {}) == [1, 5, 4, 2, 3]
    # Team 1 was served a moment ago: team 2's one goes first; within team 1,
    # member 10 was served last, so member 11 comes before their next.
    team_last = {1: at(10), 2: at(5)}
    member_last = {(1, 10): at(10), (1, 11): at(6)}
    assert dispatch.fair_order(rows, team_last, member_last) == [5, 4, 1, 2, 3]


@pytest.fixture
def fresh_budget(settings):
    """A budget of this test's own (its namespace follows the key prefix)."""
    settings.REDIS_KEY_PREFIX = f"{settings.REDIS_KEY_PREFIX}dispatch-{uuid.uuid4().hex[:8]}:"
    return settings


def _queued(team, user, prompt, minutes=0):
    generation = Generation.objects.create(team=team, created_by=user, prompt=prompt)
    Generation.objects.filter(pk=generation.pk).update(created_at=at(minutes))
    return generation


def test_the_queue_is_served_fairly_and_each_call_claims_one(
    db, fresh_budget, django_capture_on_commit_callbacks
):
    fresh_budget.STUDIO_RATE_LIMITS = "tools=60/60"  # a burst of 3, then one a second
    owner = make_user()
    team = owner.teams.get()
    teammate = make_member(team, role="member")
    other = make_user()
    mine = [_queued(team, owner, f"mine {n}", minutes=n) for n in range(3)]
    theirs = _queued(team, teammate, "teammate's one", minutes=5)
    lone = _queued(other.teams.get(), other, "another team's one", minutes=6)

    view = QueueView()
    assert [view.for_generation(g).ahead for g in (mine[0], lone, theirs, mine[1])] == [0, 1, 2, 3]

    with django_capture_on_commit_callbacks() as sent:
        wait = dispatch.run()
    assert 0 < wait <= 1.0  # the burst is spent: the next call in about a second
    dispatched = list(
        Generation.objects.filter(dispatched_at__isnull=False).order_by("dispatched_at", "pk")
    )
    assert [g.pk for g in dispatched] == [mine[0].pk, lone.pk, theirs.pk]
    assert len(tasks_on_commit(sent)) == 3  # one submit message each
    # A second dispatcher at the same moment finds no call and claims nothing.
    with django_capture_on_commit_callbacks() as again:
        assert dispatch.run() > 0
    assert tasks_on_commit(again) == []
    assert Generation.objects.filter(dispatched_at__isnull=False).count() == 3


def test_a_run_reads_the_queue_once_and_shows_the_places_it_moved_once(
    db, fresh_budget, django_capture_on_commit_callbacks
):
    # A burst of 3 calls, then one a second: a run hands out 3 of the 30 waiting.
    fresh_budget.STUDIO_RATE_LIMITS = "tools=60/60"
    user = make_user()
    team = user.teams.get()
    queued = [_queued(team, user, f"wait {n}", minutes=n) for n in range(30)]
    Generation.objects.update(seq=0)

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks():
        assert dispatch.run() > 0
    # The queue is read once, not once per call (at 10,000 waiting, a read is ~50 ms).
    reads = [q["sql"] for q in queries
             if q["sql"].startswith("SELECT") and '"dispatched_at" IS NULL' in q["sql"]]
    assert len(reads) == 1, reads
    seqs = dict(Generation.objects.values_list("pk", "seq"))
    moved = {pk for pk, seq in seqs.items() if seq}
    # The three sent and the 20 next in line changed, together (one change number).
    assert moved == {g.pk for g in queued[: 3 + dispatch.SHOW_MOVED]}
    assert len({seqs[pk] for pk in moved}) == 1


def test_a_burst_of_requests_is_one_dispatcher_run_in_the_queue(
    db, settings, django_capture_on_commit_callbacks
):
    settings.STUDIO_RATE_LIMITS = "off"  # no budget: a run sends no wake-up of its own
    delete_redis_keys()
    broker = redis.Redis.from_url(settings.REDIS_URL)
    # The Celery queue of dispatcher runs, under this test run's key prefix.
    queue = f"{settings.REDIS_KEY_PREFIX}submit"
    user = make_user()
    team = user.teams.get()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for n in range(5):
                generation_create(team=team, user=user, prompt=f"burst {n}")
        assert broker.llen(queue) == 1
        # The run starts (it takes the mark, then reads the queue): what comes after
        # gets a run of its own.
        dispatch_work()
        with django_capture_on_commit_callbacks(execute=True):
            generation_create(team=team, user=user, prompt="after the run started")
        # No worker here: the first message is still listed, beside the new run's.
        # (The run's own submit messages wait for this test's transaction to commit.)
        assert broker.llen(queue) == 2
    finally:
        delete_redis_keys()


def test_cancelling_a_waiting_generation_frees_its_place_at_once(client, db, fresh_budget):
    fresh_budget.STUDIO_RATE_LIMITS = "tools=1/3600"
    user = make_user(password="pw pw pw pw")
    team = user.teams.get()
    first, second, third = (_queued(team, user, f"wait {n}", minutes=n) for n in range(3))
    assert budget_from_settings().acquire("tools") == 0.0  # this hour's one call is spent
    client.force_login(user)

    page = client.get("/").content.decode()
    assert "Waiting for VideoGen capacity — next in line, about 60 min" in page
    assert "Waiting for VideoGen capacity — 2 ahead of you, about 180 min" in page
    notice = client.get("/generations/cost/?num_results=1").content.decode()
    assert "would start in about" in notice and "(3 waiting before it)" in notice

    response = client.post(f"/generations/{first.pk}/cancel/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = client.get("/").content.decode()
    assert "Waiting for VideoGen capacity — 1 ahead of you" in page
    assert "Waiting for VideoGen capacity — next in line, about 60 min" in page
    assert "2 ahead of you" not in page
    assert QueueView().for_generation(third).ahead == 1


def test_a_429_despite_the_budget_pauses_until_reset_and_loses_nothing(
    settings, sandbox_factory, celery_worker
):
    box = sandbox_factory("--rate-limits", "tools=3/6")
    settings.VIDEOGEN_BASE_URL = box.base_url
    settings.STUDIO_RATE_LIMITS = "tools=3/6"
    # Another client on the same key spends VideoGen's window behind Studio's back.
    stranger = VideoGenClient(base_url=box.base_url, api_key=box.api_key)
    for n in range(3):
        stranger.generate_image(prompt=f"someone else {n}")
    with pytest.raises(RateLimitedError) as spent:
        stranger.generate_image(prompt="one more")
    reset_at = spent.value.rate_limit.reset_at
    user = make_user()

    generation = generation_create(team=user.teams.get(), user=user, prompt="ours")

    # Refused once (Studio's own count had calls left); back in its place, unsent.
    wait_for(lambda: box.stats()["responses"].get("429", 0) == 2, message="no 429 for Studio")
    wait_for(lambda: Generation.objects.get(pk=generation.pk).dispatched_at is None)
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED and generation.remote_execution_id is None
    state = budget_from_settings().state("tools")
    assert state.left == 0 and state.resets_at >= reset_at - 0.01
    assert ApiUsage.objects.filter(group="tools", team_ref=generation.team_id).get().refused == 1

    # After the reset it goes, once: nothing lost, no second paid execution.
    wait_for(lambda: Generation.objects.get(pk=generation.pk).status == Status.SUCCEEDED,
             timeout=30)
    generation.refresh_from_db()
    assert generation.submitted_at.timestamp() >= reset_at - 1.0
    assert box.stats()["executions"] == {"GENERATE_IMAGE": 4}  # the stranger's 3 and ours
    assert box.stats()["responses"]["429"] == 2  # the stranger's and ours: no other
    time.sleep(0.5)
    ours = Generation.objects.filter(remote_execution_id=generation.remote_execution_id)
    assert ours.count() == 1


def test_the_api_budget_page_shows_use_left_reset_and_who(client, db, fresh_budget):
    fresh_budget.STUDIO_RATE_LIMITS = "tools=10/3600,executions=100/3600"
    admin = make_user(password="pw pw pw pw")
    team = admin.teams.get()
    member = make_member(team, role="member", password="pw pw pw pw", personal_team=False)
    other = make_user()
    budget = budget_from_settings()
    from studio.generations.budget import calls_for, record_call

    for who, n in ((Generation(team=team, created_by=member), 3),
                   (Generation(team=other.teams.get(), created_by=other), 2)):
        with calls_for(who):
            for _ in range(n):
                assert budget.acquire("executions") == 0.0
                record_call("executions", 200)
    with calls_for(Generation(team=other.teams.get(), created_by=other)):
        record_call("tools", 429)

    client.force_login(admin)
    page = client.get("/review/budget/").content.decode()
    assert "95</span>" in page and "of 100 executions calls left" in page
    assert "resets at" in page
    assert member.get_username() in page and "Other teams" in page
    assert other.get_username() not in page and other.teams.get().name not in page
    assert "<svg" in page and "tools calls per hour" in page

    client.force_login(member)  # a member is not an admin: no budget page
    assert client.get("/review/budget/").status_code == 403


def test_the_budget_page_says_when_videogens_window_opened_beside_studios_hour(
    client, db, fresh_budget
):
    """VideoGen's "used" counts from its window's opening, Studio's calls from the
    clock hour: the page names both moments, so differing counts are explained."""
    from datetime import timedelta

    from django.utils import timezone

    from studio.generations.budget import GroupRow

    fresh_budget.STUDIO_RATE_LIMITS = "tools=10/3600"
    resets = timezone.now() + timedelta(minutes=20)
    row = GroupRow(group="tools", limit=10, seconds=3600, used=4, left=6, resets_at=resets,
                   paused_until=None, calls_this_hour=1, refused_this_hour=0)
    assert row.window_opened_at == resets - timedelta(hours=1)
    assert GroupRow(**{**row.__dict__, "resets_at": None}).window_opened_at is None

    admin = make_user(password="pw pw pw pw")
    before = timezone.localtime().strftime("%H:%M")
    assert budget_from_settings().acquire("tools") == 0.0  # opens the window now
    client.force_login(admin)
    page = client.get("/review/budget/").content.decode()
    hour = timezone.localtime().replace(minute=0).strftime("%H:%M")
    assert f"Studio's calls since {hour}" in page
    # the window opened with that call (a minute may have turned meanwhile)
    opened = {before, timezone.localtime().strftime("%H:%M")}
    assert any(f'<span class="muted">since {t}</span>' in page for t in opened)


@pytest.mark.skipif("sqlite" in connection.settings_dict["ENGINE"],
                    reason="row locks: SQLite serialises every write instead")
def test_showing_the_queue_moved_does_not_deadlock_with_a_submit_moving_a_card(
    transactional_db,
):
    """A submit moves its generation (its row, then the team's change counter) while
    the dispatcher re-shows the front of the queue, that card among them. Both take
    the rows in the same order, so one waits for the other instead of a deadlock."""
    import threading

    from django.db import connection as conn
    from django.db import transaction

    from studio.teams.models import Team

    user = make_user()
    team = user.teams.get()
    generation = Generation.objects.create(team=team, created_by=user, prompt="p",
                                           status=Status.QUEUED)
    holding, failures = threading.Event(), []

    def submit():  # as Generation.move: the generation's row first, then the team's
        try:
            with transaction.atomic():
                Generation.objects.filter(pk=generation.pk).update(status=Status.SUBMITTING)
                holding.set()
                time.sleep(0.5)  # the dispatcher is at the team's counter meanwhile
                Team(pk=team.pk).next_change_seq()
        except Exception as exc:  # a deadlock: PostgreSQL aborts one of the two
            failures.append(exc)
        finally:
            conn.close()

    def show():
        holding.wait(5)
        try:
            dispatch._show_queue_moved([generation.pk], [])
        except Exception as exc:
            failures.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=submit), threading.Thread(target=show)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert failures == []
    generation.refresh_from_db()
    assert generation.status == Status.SUBMITTING
    team.refresh_from_db()
    assert generation.seq == team.change_seq == 2  # both changes, the show's last
