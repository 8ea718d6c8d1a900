"""The one mechanism that scopes reads to a team.

Every selector that reads team-owned rows starts from `for_team(...)` (or a
model's `TeamScopedQuerySet.for_team`), and every lookup by id from a request
goes through `get_for_team_or_404`: another team's row is then indistinguishable
from a row that does not exist. Views never filter by team themselves.
"""

from __future__ import annotations

from django.db import models
from django.http import Http404


class TeamScopedQuerySet(models.QuerySet):
    """For models with a `team` foreign key (directly or via `team_lookup`)."""

    team_lookup = "team"

    def for_team(self, team):
        # No current team (a user with no membership) sees nothing, never everything.
        if team is None:
            return self.none()
        return self.filter(**{self.team_lookup: team})


def for_team(source, team) -> models.QuerySet:
    """`source` (a model or queryset) limited to `team`'s rows.

    Models of other apps (Generation, Result, Reference) have a `team` field
    too; this gives them the same scoping as the models that use
    TeamScopedQuerySet.
    """
    queryset = source._default_manager.all() if isinstance(source, type) else source
    if hasattr(queryset, "for_team"):
        return queryset.for_team(team)
    if team is None:
        return queryset.none()
    return queryset.filter(team=team)


def get_for_team_or_404(source, *, team, **lookups):
    """One row of `team` by `lookups`, or 404: another team's id is not told apart."""
    try:
        return for_team(source, team).get(**lookups)
    except (models.ObjectDoesNotExist, ValueError, TypeError):
        raise Http404("No such item in this team.") from None
