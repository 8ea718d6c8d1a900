"""Reads of the review app, always scoped to one team."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from studio.audit.models import AuditEntry
from studio.generations.cost import spend
from studio.generations.models import Generation, Result, Reuse, Tool
from studio.generations.quota import Month
from studio.generations.visibility import team_policy
from studio.teams.models import Team

from . import rollup

QUEUE_SIZE = 60
# Images awaiting review are counted up to this many; beyond, the pages say "1,000+".
COUNT_CAP = 1000


# --- the review queue ------------------------------------------------------------


def _pending(team: Team):
    # Stored results only: a result is reviewable once its image is in storage.
    return Result.objects.filter(team=team, review_state=Result.ReviewState.PENDING).exclude(
        sha256=""
    )


def review_queue(*, team: Team, limit: int = QUEUE_SIZE) -> tuple[list[Result], int]:
    """The oldest results awaiting review (first come, first reviewed), and how many in
    all, counted up to COUNT_CAP + 1 (more than COUNT_CAP: "1,000+")."""
    pending = _pending(team)
    items = list(
        pending.select_related("generation", "generation__created_by").order_by("created_at", "pk")[
            :limit
        ]
    )
    return items, len(items) if len(items) < limit else pending_count(team=team)


def pending_count(*, team: Team) -> int:
    """How many results await review, up to COUNT_CAP + 1. A bounded count: a whole
    backlog counted on every view costs as much as the backlog, and past a page of
    the queue nobody needs the exact figure."""
    # "Its generation is not in the Trash" against the team's few trashed generations
    # (read once from their index), not the default manager's join, which PostgreSQL
    # hashed the team's every generation for.
    trashed = Generation.objects.filter(team=team, deleted_at__isnull=False).values("pk")
    pending = Result.all_objects.filter(
        team=team, review_state=Result.ReviewState.PENDING, deleted_at__isnull=True
    ).exclude(sha256="")
    return pending.exclude(generation_id__in=trashed).order_by()[: COUNT_CAP + 1].count()


def results_to_decide(*, team: Team, ids: list[int]) -> list[Result]:
    """The team's results for `ids`; any other id is a 404 for the whole request."""
    found = list(Result.objects.filter(team=team, pk__in=ids))
    if not ids or len(found) != len(set(ids)):
        raise Http404("No such image.")
    return found


# --- the audit log ------------------------------------------------------------------


def audit_entries(*, team: Team, actor_id: int | None = None, action: str = ""):
    entries = AuditEntry.objects.for_team(team)
    if actor_id is not None:
        entries = entries.filter(actor_id=actor_id)
    if action:
        entries = entries.filter(action=action)
    return entries.order_by("-created_at", "-pk")


def audit_people(*, team: Team) -> list[tuple[int, str]]:
    """Everyone who appears in the team's log, or is a member now: (id, name)."""
    # order_by(): with the model's ordering, DISTINCT also took created_at and id and
    # so returned every entry of the log; now one row per person, off audit_team_actor.
    actor_ids = set(
        AuditEntry.objects.for_team(team)
        .exclude(actor_id=None)
        .order_by()
        .values_list("actor_id", flat=True)
        .distinct()
    )
    users = get_user_model().objects.filter(Q(pk__in=actor_ids) | Q(memberships__team=team))
    return sorted({(u.pk, u.get_username()) for u in users.distinct()}, key=lambda p: p[1].lower())


# --- usage --------------------------------------------------------------------------


@dataclass
class UsageRow:
    label: str
    generations: int = 0
    images_requested: int = 0
    images_delivered: int = 0
    # Images that count (reached VideoGen or still on the way), as the quota counts them.
    images_billed: int = 0
    executions: dict[str, int] = field(default_factory=dict)

    @property
    def spend(self):
        """Money at STUDIO_PRICE_PER_IMAGE; None when no price is set."""
        return spend(self.images_billed)

    @property
    def tool_counts(self) -> list[int]:
        """Executions per tool, in the order of Tool (the table's columns)."""
        return [self.executions.get(tool, 0) for tool in Tool.values]


@dataclass
class Usage:
    month: Month
    team: UsageRow
    members: list[UsageRow]
    days: list[tuple[date, UsageRow]]
    tools: list[tuple[str, str]]
    quota: int | None
    quota_used: int
    # Images the team took from what it already had ("Use this") instead of generating.
    reused: int = 0

    @property
    def quota_left(self) -> int | None:
        return None if self.quota is None else max(self.quota - self.quota_used, 0)


def _names(team: Team, tallies) -> dict[int, str]:
    """Everyone who made something in these tallies, and every member now: id -> name."""
    made = {t.user_id for t in tallies}
    return dict(
        get_user_model()
        .objects.filter(Q(pk__in=made) | Q(memberships__team=team))
        .distinct()
        .values_list("pk", "username")
    )


def _add(row: UsageRow, tally) -> None:
    row.generations += tally.generations
    row.images_requested += tally.images_requested
    row.images_billed += tally.images_billed
    row.images_delivered += tally.images_delivered
    if tally.executions:
        row.executions[tally.tool] = row.executions.get(tally.tool, 0) + tally.executions


def usage_for_month(*, team: Team, month: Month) -> Usage:
    """What the team asked for and got in `month`, by member and by day.

    Everything is counted by the month its generation was created in, as the
    quota is; "executions" are generations that reached VideoGen. From the
    month's day rollups (rollup.py): a few rows per day, whatever the team's size.
    """
    tallies = rollup.usage(team=team, first=month.first_day, end=month.next.first_day)
    members = {pk: UsageRow(name) for pk, name in _names(team, tallies).items()}
    team_row = UsageRow("Whole team")
    per_day: dict[date, UsageRow] = defaultdict(lambda: UsageRow(""))
    for tally in tallies:
        _add(members[tally.user_id], tally)
        _add(team_row, tally)
        _add(per_day[tally.day], tally)
    days = []
    day = month.first_day
    while day < month.next.first_day:
        row = per_day.get(day) or UsageRow("")
        row.label = f"{day.day}"
        days.append((day, row))
        day += timedelta(days=1)

    policy = team_policy(team)
    return Usage(
        month=month,
        team=team_row,
        members=sorted(members.values(), key=lambda m: (-m.images_requested, m.label.lower())),
        days=days,
        tools=[(t.value, t.label) for t in Tool],
        quota=policy.monthly_image_quota,
        # What quota.images_used counts: the month's images that count against it.
        quota_used=team_row.images_billed,
        reused=Reuse.objects.filter(
            team=team, created_at__gte=month.start, created_at__lt=month.end
        ).count(),
    )


def audit_thumbnails(*, team, entries) -> set[str]:
    """The target ids (as in the log) of the entries' images that still have a thumbnail."""
    ids = [int(e.target_id) for e in entries
           if e.target_type == "generations.result" and e.target_id.isdigit()]
    stored = Result.objects.filter(team=team, pk__in=ids).exclude(thumbnail="")
    return {str(pk) for pk in stored.values_list("pk", flat=True)}


def _first_of(last: Month, months: int) -> Month:
    first = last
    for _ in range(months - 1):
        first = first.previous
    return first


def usage_by_month(*, team: Team, last: Month, months: int = 12) -> list[tuple[Month, UsageRow]]:
    """Per month (oldest first, ending with `last`): the team's images and spend."""
    first = _first_of(last, months)
    totals: dict[date, UsageRow] = defaultdict(lambda: UsageRow(""))
    for tally in rollup.usage_by_month(team=team, first=first.first_day,
                                       end=last.next.first_day):
        found = totals[tally.day]
        found.generations += tally.generations_billed  # those that count, as spend does
        found.images_billed += tally.images_billed
    rows, month = [], first
    while True:
        found = totals.get(month.first_day) or UsageRow("")
        found.label = f"{month}"
        rows.append((month, found))
        if month == last:
            return rows
        month = month.next


def usage_csv_rows(*, team: Team, last: Month, months: int = 12):
    """month, member, ...: one row per member per month, for the CSV export.

    From the day rollups (rollup.py), a month at a time in one query: the rows
    are those usage_for_month gives, members who made something, in its order."""
    first = _first_of(last, months)
    tallies = rollup.usage_by_month(team=team, first=first.first_day, end=last.next.first_day)
    names = _names(team, tallies)
    rows: dict[tuple[date, int], UsageRow] = {}
    for tally in tallies:
        key = (tally.day, tally.user_id)
        if key not in rows:
            rows[key] = UsageRow(names[tally.user_id])
        _add(rows[key], tally)
    month = first
    while True:
        members = [r for (at, _), r in rows.items() if at == month.first_day]
        for member in sorted(members, key=lambda r: (-r.images_requested, r.label.lower())):
            if member.generations:
                yield month, member
        if month == last:
            return
        month = month.next


def api_budget(*, team_id: int | None) -> dict:
    """The API budget page's figures (generations.budget reads the shared budget and
    the recorded calls). `team_id`: a team admin's view, where only that team's
    members are named and every other team is one "Other teams" row."""
    from studio.generations import budget

    groups = budget.budget_groups()
    rows = budget.calls_by_member()
    people = get_user_model().objects.in_bulk({r["user_ref"] for r in rows if r["user_ref"]})
    teams = Team.objects.in_bulk({r["team_ref"] for r in rows if r["team_ref"]})
    merged: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        if team_id is not None and row["team_ref"] != team_id:
            who = ("Other teams", "—")
        else:
            team = teams.get(row["team_ref"])
            person = people.get(row["user_ref"])
            if team is not None:
                team_name = team.name
            else:
                team_name = "a removed team" if row["team_ref"] else "Studio itself"
            who = (team_name, person.get_username() if person else "—")
        counts = merged[(*who, row["group"])]
        counts[0] += row["calls_sum"]
        counts[1] += row["refused_sum"]
    users = sorted(
        ({"team": t, "member": m, "group": g, "calls": c, "refused": r}
         for (t, m, g), (c, r) in merged.items()),
        key=lambda row: (-row["calls"], row["team"], row["member"], row["group"]),
    )
    view = budget.QueueView()
    return {
        "groups": groups,
        # Studio's own counts are by clock hour (ApiUsage.hour): the column says since when.
        "hour_start": timezone.now().replace(minute=0, second=0, microsecond=0),
        "tools_hours": budget.calls_by_hour("tools"),
        "users": users,
        "waiting": view.waiting_count,
        "next_wait": view.for_new_request(0, 0) if view.waiting_count else None,
    }
