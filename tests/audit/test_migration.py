"""Moving AuditEntry to the audit app (and TeamPolicy to teams) keeps every row.

The database is migrated back to before the move, given entries and a policy
through the models as they were then (review.AuditEntry, review.TeamPolicy),
and migrated forward again: the same rows come out of the new models.
"""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from studio.audit.models import AuditEntry
from studio.teams.models import TeamPolicy

BEFORE_THE_MOVE = [
    ("review", "0001_initial"),
    ("teams", "0002_invitations"),
    ("audit", None),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    nodes = [target for target in targets if target[1] is not None]
    return MigrationExecutor(connection).loader.project_state(nodes).apps


@pytest.mark.django_db(transaction=True)
def test_audit_entries_and_policies_survive_the_move():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = _migrate(BEFORE_THE_MOVE)
    try:
        assert "review_auditentry" in connection.introspection.table_names()
        user = old.get_model("auth", "User").objects.create(username="ada")
        team = old.get_model("teams", "Team").objects.create(name="Crew")
        old.get_model("review", "TeamPolicy").objects.create(
            team=team, require_approval=True, monthly_image_quota=40
        )
        old_entry = old.get_model("review", "AuditEntry")
        for n in range(3):
            old_entry.objects.create(
                team_id=team.pk,
                actor_id=user.pk,
                actor_label="ada",
                action="policy.quota",
                via="admin",
                target_type="review.teampolicy",
                target_id=str(n),
                target_label="Team Crew",
                before={"monthly_image_quota": n},
                after={"monthly_image_quota": n + 1},
            )
        old_pks = sorted(old_entry.objects.values_list("pk", flat=True))
    finally:
        _migrate(leaves)

    tables = connection.introspection.table_names()
    assert "audit_auditentry" in tables and "review_auditentry" not in tables
    entries = list(AuditEntry.objects.order_by("pk"))
    assert [e.pk for e in entries] == old_pks
    assert [(e.target_id, e.before, e.after) for e in entries] == [
        (str(n), {"monthly_image_quota": n}, {"monthly_image_quota": n + 1}) for n in range(3)
    ]
    assert {(e.team_id, e.actor_id, e.action, e.via) for e in entries} == {
        (team.pk, user.pk, "policy.quota", "admin")
    }
    policy = TeamPolicy.objects.get(team_id=team.pk)
    assert (policy.require_approval, policy.monthly_image_quota) == (True, 40)
    # Still append-only, and new entries follow the old ones.
    assert AuditEntry.objects.create(
        team_id=team.pk, actor_label="ada", action="member.add", target_type="x", target_id="1",
        target_label="x",
    ).pk > old_pks[-1]
    assert not ContentType.objects.filter(app_label="review", model="auditentry").exists()
