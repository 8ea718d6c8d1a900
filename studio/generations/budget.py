"""The key's budget as people see it: who used which calls (recorded per hour,
team and member), where a waiting generation stands, and when a new request
would start. The budget itself is the client's (studio/videogen/ratelimit.py);
the order of the queue is the dispatcher's (dispatch.py)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from studio.videogen import BudgetState, budget_from_settings

from .dispatch import TOOLS, Waiting, waiting
from .models import ApiUsage

log = logging.getLogger(__name__)

# A request that cannot start within this long is "not soon": the form says so.
NOT_SOON_SECONDS = 60.0

# (team id, member id) the current VideoGen calls are made for (0: nobody's).
_made_for: contextvars.ContextVar[tuple[int, int]] = contextvars.ContextVar(
    "videogen_made_for", default=(0, 0)
)


@contextlib.contextmanager
def calls_for(generation):
    """Count the VideoGen calls made inside for this generation's team and member."""
    token = _made_for.set((generation.team_id or 0, generation.created_by_id or 0))
    try:
        yield
    finally:
        _made_for.reset(token)


def record_call(group: str, status: int) -> None:
    """The client's call observer: one more call this hour (a 429 counted as refused)."""
    try:
        _record(group, status)
    except Exception as exc:  # no database here (a script, a test without one): not counted
        log.debug("VideoGen %s call not recorded: %s", group, exc)


def _record(group: str, status: int) -> None:
    team, user = _made_for.get()
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    refused = 1 if status == 429 else 0
    key = {"hour": hour, "group": group, "team_ref": team, "user_ref": user}
    update = {"calls": F("calls") + 1, "refused": F("refused") + refused}
    if ApiUsage.objects.filter(**key).update(**update):
        return
    try:
        with transaction.atomic():
            ApiUsage.objects.create(**key, calls=1, refused=refused)
    except IntegrityError:  # created by another process a moment ago
        ApiUsage.objects.filter(**key).update(**update)


# --- estimates ---------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    ahead: int
    seconds: float

    @property
    def minutes_text(self) -> str:
        if self.seconds < 60:
            return f"about {max(5, 5 * math.ceil(self.seconds / 5))} s"
        return f"about {math.ceil(self.seconds / 60)} min"

    @property
    def ahead_text(self) -> str:
        if self.ahead == 0:
            return "next in line"
        return f"{self.ahead} ahead of you"

    @property
    def is_soon(self) -> bool:
        return self.seconds < NOT_SOON_SECONDS


def tools_state() -> BudgetState | None:
    budget = budget_from_settings()
    return budget.state(TOOLS) if budget is not None else None


def estimate(ahead: int, state: BudgetState | None, now: float | None = None) -> Estimate:
    """When the call for the one with `ahead` others before it comes, from the
    budget's real state (its window's calls left, its reset, its pace)."""
    if state is None:
        return Estimate(ahead, 0.0)
    return Estimate(ahead, state.wait_for(ahead + 1, now if now is not None else time.time()))


class QueueView:
    """One request's look at the queue and the budget, read once however many
    cards ask (the template tag keeps one per render)."""

    def __init__(self) -> None:
        self._waiting: Waiting | None = None
        self._state: BudgetState | None = None
        self._read = False

    def _load(self) -> None:
        if not self._read:
            self._waiting = waiting()
            self._state = tools_state()
            self._read = True

    def for_generation(self, generation) -> Estimate | None:
        self._load()
        ahead = self._waiting.place(generation.pk)
        return None if ahead is None else estimate(ahead, self._state)

    def for_new_request(self, team_id: int, user_id: int) -> Estimate:
        self._load()
        return estimate(self._waiting.place_of_new(team_id, user_id), self._state)

    @property
    def waiting_count(self) -> int:
        self._load()
        return len(self._waiting.order)


# --- the API budget page -------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    group: str
    limit: int
    seconds: float
    used: int
    left: int
    resets_at: datetime | None
    paused_until: datetime | None
    calls_this_hour: int
    refused_this_hour: int

    @property
    def share_used(self) -> int:
        return round(100 * self.used / self.limit) if self.limit else 0

    @property
    def window_opened_at(self) -> datetime | None:
        """VideoGen's window is not the clock's hour: it opens with the first call
        after the last one closed, so "used" may hold calls from before this hour
        (and from any other client of the key), which "calls this hour" does not."""
        return self.resets_at - timedelta(seconds=self.seconds) if self.resets_at else None


def budget_groups() -> list[GroupRow]:
    """Each group's window now (from the shared budget) and its recorded calls this hour."""
    budget = budget_from_settings()
    if budget is None:
        return []
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    recorded = {
        row["group"]: row
        for row in ApiUsage.objects.filter(hour=hour)
        .values("group")
        .annotate(calls_sum=Sum("calls"), refused_sum=Sum("refused"))
    }
    rows = []
    for group in budget.limits:
        state = budget.state(group)
        row = recorded.get(group, {})
        rows.append(
            GroupRow(
                group=group,
                limit=state.limit,
                seconds=state.seconds,
                used=state.used,
                left=state.left,
                resets_at=_when(state.resets_at),
                paused_until=_when(state.paused_until),
                calls_this_hour=row.get("calls_sum") or 0,
                refused_this_hour=row.get("refused_sum") or 0,
            )
        )
    return rows


def calls_by_hour(group: str, *, hours: int = 24) -> list[tuple[datetime, int, int]]:
    """(hour, calls, refused) of the last `hours` hours, oldest first, gaps as 0."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(hours=hours - 1)
    found = {
        row["hour"]: (row["c"], row["r"])
        for row in ApiUsage.objects.filter(group=group, hour__gte=start)
        .values("hour")
        .annotate(c=Sum("calls"), r=Sum("refused"))
    }
    return [
        (start + timedelta(hours=i), *found.get(start + timedelta(hours=i), (0, 0)))
        for i in range(hours)
    ]


def calls_by_member(*, hours: int = 24, team_id: int | None = None) -> list[dict]:
    """Calls per team and member and group over the last `hours` hours, most first.
    `team_id`: only that team's rows (a team admin sees only their own team's)."""
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    rows = ApiUsage.objects.filter(hour__gte=start)
    if team_id is not None:
        rows = rows.filter(team_ref=team_id)
    return list(
        rows.values("team_ref", "user_ref", "group")
        .annotate(calls_sum=Sum("calls"), refused_sum=Sum("refused"))
        .order_by("-calls_sum", "team_ref", "user_ref", "group")
    )


def _when(unix: float | None) -> datetime | None:
    if unix is None:
        return None
    return datetime.fromtimestamp(unix, tz=timezone.get_current_timezone())
