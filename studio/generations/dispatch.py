"""The dispatcher: queued work gets a tool call of the key's budget, fairly.

Every generation (and upscale, cut-out, vector, variations: all are tool
calls) waits as QUEUED until the shared budget has a call for it. The next
one is picked by fair share: round-robin across teams (the least recently
served team first), then across members within the team, oldest first within
a member. So one person's forty variations never hold back a teammate's, or
another team's, single image.

Nothing sleeps or spins. `run` hands out what the budget allows now and says
when the next call frees up; the task schedules one wake-up for then. A new
generation, a cancel, a call given back and a short beat tick nudge it too.
Taking the call and claiming the row are separate atomic steps (the budget's
store, then a conditional UPDATE on dispatched_at), so two dispatchers never
submit the same generation and a claim that loses gives its call back.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from studio.teams.models import Team
from studio.videogen import budget_from_settings

from .models import Generation, Status

log = logging.getLogger(__name__)

TOOLS = "tools"
# Submissions handed out by one run at most (a burst after a quiet spell).
MAX_PER_RUN = 50
# Generations tried for one call before the order is read again (another dispatcher's).
CLAIM_TRIES = 10
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass
class Waiting:
    """The queue as the dispatcher will serve it if nothing new arrives."""

    order: list[int] = field(default_factory=list)  # generation ids, next first
    owner: dict[int, tuple[int, int]] = field(default_factory=dict)  # id -> (team, member)
    team_last: dict[int, datetime] = field(default_factory=dict)
    member_last: dict[tuple[int, int], datetime] = field(default_factory=dict)
    created: dict[int, datetime] = field(default_factory=dict)

    def place(self, pk: int) -> int | None:
        """How many are ahead of this generation (None: not waiting)."""
        try:
            return self.order.index(pk)
        except ValueError:
            return None

    def place_of_new(self, team_id: int, user_id: int) -> int:
        """How many would be ahead of a request this member made now."""
        rows = [(pk, *self.owner[pk], self.created[pk]) for pk in self.order]
        rows.append((0, team_id, user_id, timezone.now()))
        order = fair_order(rows, self.team_last, self.member_last)
        return order.index(0)


def fair_order(rows, team_last, member_last) -> list[int]:
    """Round-robin across teams, then members, oldest first within a member.

    rows: (id, team, member, created_at); *_last: when each team and member was
    last served (absent: never, so first). A served team goes to the back of
    the round, a served member to the back of the team's round.
    """
    per_team: dict[int, dict[int, deque]] = {}
    first_seen: dict = {}
    for pk, team, member, created in sorted(rows, key=lambda r: (r[3], r[0])):
        per_team.setdefault(team, {}).setdefault(member, deque()).append(pk)
        first_seen.setdefault(team, created)
        first_seen.setdefault((team, member), created)
    teams = deque(
        sorted(per_team, key=lambda t: (team_last.get(t, _NEVER), first_seen[t], t))
    )
    rounds = {
        team: deque(
            sorted(
                members,
                key=lambda m, t=team: (member_last.get((t, m), _NEVER), first_seen[(t, m)], m),
            )
        )
        for team, members in per_team.items()
    }
    order: list[int] = []
    while teams:
        team = teams.popleft()
        members = rounds[team]
        member = members.popleft()
        queue = per_team[team][member]
        order.append(queue.popleft())
        if queue:
            members.append(member)
        if members:
            teams.append(team)
    return order


def waiting() -> Waiting:
    """The undispatched queue, in the order it will be served (three queries)."""
    rows = list(
        Generation.objects.filter(status=Status.QUEUED, dispatched_at__isnull=True)
        .order_by("created_at", "pk")
        .values_list("pk", "team_id", "created_by_id", "created_at")
    )
    result = Waiting()
    if not rows:
        return result
    teams = {team for _, team, _, _ in rows}
    served = Generation.objects.filter(team_id__in=teams, dispatched_at__isnull=False)
    result.team_last = {
        row["team_id"]: row["last"]
        for row in served.values("team_id").annotate(last=Max("dispatched_at"))
    }
    result.member_last = {
        (row["team_id"], row["created_by_id"]): row["last"]
        for row in served.values("team_id", "created_by_id").annotate(last=Max("dispatched_at"))
    }
    result.owner = {pk: (team, member) for pk, team, member, _ in rows}
    result.created = {pk: created for pk, _, _, created in rows}
    result.order = fair_order(rows, result.team_last, result.member_last)
    return result


def run() -> float | None:
    """Hand out tool calls to waiting work while the budget has them.

    Returns the seconds until the budget frees its next call when work is
    still waiting, or None when nothing waits.

    The fair order is computed once and served front to back: it is already
    the order the queue is served in if nothing new arrives (a served team and
    member go to the back of their rounds), and recomputing it per call made a
    run cost O(queue) per call, so 10,000 queued took minutes to hand out.
    Anything that arrives meanwhile is in the next run's order (at most
    MAX_PER_RUN calls away).
    """
    budget = budget_from_settings()
    order: list[int] = []
    position = 0
    claimed: list[int] = []
    try:
        for _ in range(MAX_PER_RUN):
            if position >= len(order):
                order, position = waiting().order, 0
                if not order:
                    return None
            wait = budget.acquire(TOOLS) if budget is not None else 0.0
            if wait > 0:
                return wait
            # Another dispatcher may have claimed the front meanwhile: try the next few.
            tries = order[position : position + CLAIM_TRIES]
            won = next((n for n, pk in enumerate(tries) if _claim(pk)), None)
            if won is not None:
                claimed.append(tries[won])
                position += won + 1
            else:
                # All taken or cancelled meanwhile: the call goes back, the order is re-read.
                position = len(order)
                if budget is not None:
                    budget.refund(TOOLS)
        return 0.0
    finally:
        if claimed:
            _show_queue_moved(claimed, order[position:])


# Waiting cards whose place is re-shown after each run (the front of the queue).
SHOW_MOVED = 20


def _show_queue_moved(claimed: list[int], rest: list[int]) -> None:
    """The claimed cards now say "Sending…", and the cards at the front of the queue
    their new place: each team's open pages get them as changed cards (one change
    number per team and run)."""
    front = [*claimed, *rest[:SHOW_MOVED]]
    by_team: dict[int, list[int]] = {}
    for team_id, pk in Generation.objects.filter(pk__in=front).values_list("team_id", "pk"):
        by_team.setdefault(team_id, []).append(pk)
    for team_id, pks in by_team.items():
        with transaction.atomic():
            # The generations' rows first, then the team's counter: the order
            # Generation.move takes them in. The other order deadlocked on PostgreSQL
            # with a submit moving one of these cards meanwhile.
            list(Generation.objects.filter(pk__in=pks).order_by("pk").select_for_update()
                 .values_list("pk", flat=True))
            seq = Team(pk=team_id).next_change_seq()
            Generation.objects.filter(pk__in=pks).update(seq=seq)


def _claim(pk: int) -> bool:
    """Mark it dispatched (one conditional UPDATE) and send it to submit."""
    from .tasks import submit_generation

    with transaction.atomic():
        claimed = Generation.objects.filter(
            pk=pk, status=Status.QUEUED, dispatched_at__isnull=True
        ).update(dispatched_at=timezone.now())
        if claimed:
            transaction.on_commit(lambda: submit_generation.delay(pk, reserved=True))
    return bool(claimed)


def give_back(generation: Generation, *, refund: bool) -> None:
    """A dispatched generation that was not sent goes back to its place in the
    queue; its call goes back to the budget if VideoGen never saw the request."""
    Generation.objects.filter(pk=generation.pk, status=Status.QUEUED).update(dispatched_at=None)
    if refund:
        give_back_call()


def give_back_call() -> None:
    """A call taken for work that no longer needs it: back to the budget, and the
    dispatcher hands it to the next in line."""
    budget = budget_from_settings()
    if budget is not None:
        budget.refund(TOOLS)
    nudge()


# Set while a nudged dispatcher run waits in the queue; every run clears it as it starts.
NUDGE_KEY = "generations:dispatch-nudged"
# After this long a queued run's mark lapses and a nudge sends another (a lost message).
NUDGE_TTL = 10


def nudge(countdown: float | None = None) -> None:
    """Ask for a dispatcher run (after the current transaction commits)."""
    from .tasks import dispatch_work

    if countdown:
        transaction.on_commit(lambda: dispatch_work.apply_async(countdown=countdown))
    else:
        transaction.on_commit(_nudge_now)


def _nudge_now() -> None:
    """One run waiting in the queue is enough: it reads the queue when it starts,
    after this commit. (10,000 generations made in a burst were 10,000 runs, each
    reading the whole queue, ahead of the submits they handed out.)"""
    from django.core.cache import cache

    from .tasks import dispatch_work

    try:
        queued = not cache.add(NUDGE_KEY, 1, timeout=NUDGE_TTL)
    except Exception:  # the cache is down: a run too many is harmless, a missed one is not
        log.warning("dispatcher nudge: the cache did not answer; sending a run anyway")
        queued = False
    if not queued:
        dispatch_work.delay()


def nudge_taken() -> None:
    """A dispatcher run is starting: a nudge from now on sends another."""
    from django.core.cache import cache

    try:
        cache.delete(NUDGE_KEY)
    except Exception:  # the mark lapses by itself after NUDGE_TTL
        log.warning("dispatcher: the cache did not answer; the nudge mark lapses by itself")
