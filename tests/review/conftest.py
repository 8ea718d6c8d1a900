"""A team with one person in each role (whose only team it is), and generations
with stored results (files really written to storage, rows as ingest leaves them)."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.utils import timezone

from studio.generations.builders import build_result, store_image
from studio.generations.models import Generation, Result, Status
from studio.teams.models import Membership, Team, TeamPolicy
from tests.fixtures.factories import make_member, png_bytes

HTMX = {"HTTP_HX_REQUEST": "true"}
Role = Membership.Role
State = Result.ReviewState
_counter = itertools.count(1)


def stored_generation(
    team: Team, user, *, states=(State.PENDING,), prompt="a red kite over the hills", **fields
) -> Generation:
    """A succeeded, ingested generation with one stored result per review state."""
    generation = Generation.objects.create(
        team=team,
        created_by=user,
        prompt=prompt,
        num_results=len(states),
        status=Status.SUCCEEDED,
        remote_execution_id=f"vg_exec_{next(_counter)}",
        ingested_at=timezone.now(),
        **fields,
    )
    for position, state in enumerate(states):
        stored = store_image(
            png_bytes(size=(64, 36), color=(40 * position % 255, 90, 160)),
            f"results/t{team.pk}/g{generation.pk}-{position}",
        )
        build_result(
            generation,
            position,
            stored,
            sha256=f"{generation.pk:032d}{position:032d}",
            review_state=state,
            review_reason="too dark" if state == State.REJECTED else "",
        ).save()
    return generation


def plan_of(call):
    """(call's value, the database's plan for the one statement it runs), explained with
    its bound parameters: SQLite plans a partial index by their values. On PostgreSQL
    plain scans are ruled out (a test's handful of rows is best read whole), so the plan
    shows which index the statement's conditions can use."""
    ran = []

    def record(execute, sql, params, many, context):
        ran.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        value = call()
    ((sql, params),) = ran
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return value, "\n".join(str(row[-1]) for row in cursor.fetchall())


def set_policy(team: Team, **fields) -> TeamPolicy:
    policy, _ = TeamPolicy.objects.update_or_create(team=team, defaults=fields)
    return policy


class Crew:
    """One team: an owner, an admin, a member who creates, another member, a viewer."""

    def __init__(self):
        self.team = Team.objects.create(name="Acme")
        self.owner = make_member(self.team, Role.OWNER, "olivia", personal_team=False)
        self.admin = make_member(self.team, Role.ADMIN, "adam", personal_team=False)
        self.creator = make_member(self.team, Role.MEMBER, "carla", personal_team=False)
        self.member = make_member(self.team, Role.MEMBER, "mona", personal_team=False)
        self.viewer = make_member(self.team, Role.VIEWER, "victor", personal_team=False)

    def people(self):
        return {
            "owner": self.owner,
            "admin": self.admin,
            "creator": self.creator,
            "member": self.member,
            "viewer": self.viewer,
        }


@pytest.fixture
def crew(db):
    return Crew()


@pytest.fixture
def as_user(client):
    """as_user(user) -> the test client, signed in as that user."""

    def sign_in(user):
        client.logout()
        client.force_login(user)
        return client

    return sign_in
