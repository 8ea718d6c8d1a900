"""Usage per day, member and tool: rolled up once a day has settled, counted live before.

A day is settled when it ended over an hour ago and none of the generations
created on it is still on its way (queued, at VideoGen, or succeeded and not yet
stored): nothing that happens later moves its figures. Images sent to the Trash
count as delivered, live and rolled up alike (a record of what was made, as a
bill is); only a purge, weeks later, could lower a day that was not rolled up.
Its rows (models.UsageDay) are written by the first usage view that needs them;
days not settled yet are counted from the generations on every view, so the
live part is a day or two of work, whatever the size of the team. (Rows written
later with a creation time in a rolled-up day, as only seed scripts and tests
do, are not counted in it.)
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, Count, DateField, F, Q, Sum, Value, When
from django.utils import timezone

from studio.generations.models import Generation, Result, Status
from studio.generations.quota import counts_against_quota
from studio.teams.models import Team

from .models import UsageDay

# A day's last generations are committed and counted before it is rolled up.
SETTLE_AFTER = timedelta(hours=1)
# How long a settled month's tallies stay in the cache (they never change).
MONTH_KEPT = 7 * 24 * 3600
_STILL_GOING = Q(status__in=(Status.QUEUED, Status.SUBMITTING, Status.PENDING, Status.RUNNING)) | Q(
    status=Status.SUCCEEDED, ingested_at__isnull=True
)


@dataclass
class Tally:
    """One member's use of one tool on one day."""

    day: date
    user_id: int
    tool: str
    generations: int = 0
    generations_billed: int = 0
    images_requested: int = 0
    images_billed: int = 0
    images_delivered: int = 0
    executions: int = 0


def _start(day: date) -> datetime:
    # Days in the current time zone, as TruncDate and quota.Month count them.
    return timezone.make_aware(datetime.combine(day, time.min))


def _days(first: date, end: date):
    day = first
    while day < end:
        yield day
        day += timedelta(days=1)


def _day_of(field: str, days: list[date]):
    """The day (as _start counts them) of `field`, a time known to lie in those days
    (ascending, consecutive): a binary search of their starts, in SQL.

    Not TruncDate: on SQLite that is a Python function called on every row, which
    made the live count cost as much again as reading the rows."""
    if len(days) == 1:
        return Value(days[0], output_field=DateField())
    middle = len(days) // 2
    return Case(
        When(**{f"{field}__lt": _start(days[middle])}, then=_day_of(field, days[:middle])),
        default=_day_of(field, days[middle:]),
        output_field=DateField(),
    )


def tallies(*, team: Team, first: date, end: date) -> list[Tally]:
    """Every (day, member, tool) of the days [first, end), from the generations themselves.

    Days are those of the generation's creation, in the current time zone, as the
    quota counts them."""
    generations = Generation.objects.filter(
        team=team, created_at__gte=_start(first), created_at__lt=_start(end)
    )
    days = list(_days(first, end))
    found: dict[tuple, Tally] = {}
    for row in (
        generations.annotate(day=_day_of("created_at", days))
        .values("day", "created_by", "tool")
        .annotate(
            n=Count("pk"),
            n_billed=Count("pk", filter=counts_against_quota()),
            images=Sum("num_results"),
            billed=Sum("num_results", filter=counts_against_quota()),
            executed=Count("pk", filter=Q(remote_execution_id__isnull=False)),
        )
    ):
        key = (row["day"], row["created_by"], row["tool"])
        found[key] = Tally(*key, row["n"], row["n_billed"], row["images"] or 0,
                           row["billed"] or 0, 0, row["executed"])
    # Every stored image, in the Trash or not: what was made stays made, so sending
    # an image to the Trash never rewrites a day's figures, rolled up or live.
    delivered = (
        Result.all_objects.filter(generation__in=generations)
        .exclude(sha256="")
        .annotate(day=_day_of("generation__created_at", days))
        .values("day", "generation__created_by", "generation__tool")
        .annotate(n=Count("pk"))
    )
    for row in delivered:
        key = (row["day"], row["generation__created_by"], row["generation__tool"])
        found.setdefault(key, Tally(*key)).images_delivered = row["n"]
    return list(found.values())


def usage(*, team: Team, first: date, end: date) -> list[Tally]:
    """The (day, member, tool) tallies of the days [first, end). Settled days come from
    their rollup (rolled up now if they are not yet), the others are counted live."""
    return _usage(team, first, end, by_month=False)[0]


def usage_by_month(*, team: Team, first: date, end: date) -> list[Tally]:
    """One tally per (month, member, tool) of the months from `first` (a first day) up
    to `end` (the first day after the last month), `day` the month's first day.

    A month whose every day is rolled up never changes again: its tallies are kept
    in the cache, so the 12-month table reads a dozen entries, not a year of days."""
    months, month = [], first
    while month < end:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    keys = {month: _month_key(team, month) for month in months}
    kept = cache.get_many(list(keys.values()))
    out = []
    for month in months:
        following = (month + timedelta(days=32)).replace(day=1)
        if keys[month] in kept:
            out += [Tally(*values) for values in kept[keys[month]]]
            continue
        tallies, live = _usage(team, month, following, by_month=True)
        out += tallies
        if not live:
            cache.set(keys[month], [astuple(t) for t in tallies], timeout=MONTH_KEPT)
    return out


def _month_key(team: Team, month: date) -> str:
    # The team row itself names the entry (its creation time too: an id can come back
    # after a database is reset), as the semantic search's cache does.
    created = team.created_at.timestamp() if team.created_at else 0
    return f"review:usage-month:v2:{team.pk}.{created}:{month:%Y-%m}"


def _usage(team: Team, first: date, end: date, *, by_month: bool) -> tuple[list[Tally], list]:
    """The tallies of [first, end) by day (or by month), and the days counted live."""
    settled_before = max(first, min(end, timezone.localdate(timezone.now() - SETTLE_AFTER)))
    rolled = _rolled(team, first, settled_before)
    missing = [day for day in _days(first, settled_before) if day not in rolled]
    if missing:
        _roll_up(team, missing)
        rolled = _rolled(team, first, settled_before)
    period = F("month") if by_month else F("day")
    found: dict[tuple, Tally] = {}
    for row in (
        UsageDay.objects.filter(team=team, day__gte=first, day__lt=end, user__isnull=False)
        .annotate(period=period)
        .values("period", "user", "tool")
        .annotate(n=Sum("generations"), n_billed=Sum("generations_billed"),
                  images=Sum("images_requested"),
                  billed=Sum("images_billed"), delivered=Sum("images_delivered"),
                  executed=Sum("executions"))
    ):
        key = (row["period"], row["user"], row["tool"])
        found[key] = Tally(*key, row["n"], row["n_billed"], row["images"], row["billed"],
                           row["delivered"], row["executed"])
    # Live: today, a day that ended within the hour, a day still waiting for a generation.
    # Not the rest of the month: a day yet to come has nothing to count.
    tomorrow = timezone.localdate() + timedelta(days=1)
    live = [day for day in _days(first, min(end, tomorrow)) if day not in rolled]
    for t in _tallies_of(team, live):
        day = t.day.replace(day=1) if by_month else t.day
        into = found.setdefault((day, t.user_id, t.tool), Tally(day, t.user_id, t.tool))
        into.generations += t.generations
        into.generations_billed += t.generations_billed
        into.images_requested += t.images_requested
        into.images_billed += t.images_billed
        into.images_delivered += t.images_delivered
        into.executions += t.executions
    return list(found.values()), live


def _rolled(team: Team, first: date, end: date) -> set[date]:
    return set(
        UsageDay.objects.filter(team=team, day__gte=first, day__lt=end, user=None)
        .values_list("day", flat=True)
    )


def _tallies_of(team: Team, days: list[date]) -> list[Tally]:
    """The tallies of these days (ascending), one query pair per run of consecutive days."""
    out, run = [], []
    for day in [*days, None]:
        if run and (day is None or day != run[-1] + timedelta(days=1)):
            out += tallies(team=team, first=run[0], end=run[-1] + timedelta(days=1))
            run = []
        if day is not None:
            run.append(day)
    return out


def _roll_up(team: Team, days: list[date]) -> None:
    """Write the rows of those of these days (ascending, not rolled up) that have settled."""
    first, end = days[0], days[-1] + timedelta(days=1)
    waiting = {
        timezone.localtime(at).date()
        for at in Generation.objects.filter(
            _STILL_GOING, team=team, created_at__gte=_start(first), created_at__lt=_start(end)
        ).values_list("created_at", flat=True)
    }
    days = [day for day in days if day not in waiting]
    if not days:
        return
    rows = [UsageDay(team=team, day=day, month=day.replace(day=1))  # the "rolled up" marks
            for day in days]
    rows += [
        UsageDay(team=team, day=t.day, month=t.day.replace(day=1), user_id=t.user_id,
                 tool=t.tool,
                 generations=t.generations, generations_billed=t.generations_billed,
                 images_requested=t.images_requested,
                 images_billed=t.images_billed, images_delivered=t.images_delivered,
                 executions=t.executions)
        for t in _tallies_of(team, days)
    ]
    with transaction.atomic():
        UsageDay.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
