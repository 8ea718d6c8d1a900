"""A team with one person in each role, and generations with stored results
(files really written to storage, rows as ingest leaves them)."""

from __future__ import annotations

import io
import itertools

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from studio.generations.images import make_thumbnail
from studio.generations.models import Generation, Result, Status
from studio.teams.models import Membership, Team, TeamPolicy
from tests.fixtures.factories import png_bytes

HTMX = {"HTTP_HX_REQUEST": "true"}
Role = Membership.Role
State = Result.ReviewState
_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def make_member(team: Team, role: str, username: str | None = None):
    """A user whose only team is `team` (so it is their current team)."""
    user = get_user_model().objects.create_user(
        username=username or f"{role}{next(_counter)}", password="correct horse battery"
    )
    Membership.objects.create(team=team, user=user, role=role)
    return user


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
        original = png_bytes(size=(64, 36), color=(40 * position % 255, 90, 160))
        name = f"results/t{team.pk}/g{generation.pk}-{position}"
        Result.objects.create(
            team=team,
            generation=generation,
            position=position,
            remote_file_id=f"vg_file_{generation.pk}_{position}",
            image=default_storage.save(f"{name}.png", ContentFile(original)),
            thumbnail=default_storage.save(
                f"{name}.webp", ContentFile(make_thumbnail(io.BytesIO(original)))
            ),
            content_type="image/png",
            width=64,
            height=36,
            bytes=len(original),
            sha256=f"{generation.pk:032d}{position:032d}",
            review_state=state,
            review_reason="too dark" if state == State.REJECTED else "",
        )
    return generation


def set_policy(team: Team, **fields) -> TeamPolicy:
    policy, _ = TeamPolicy.objects.update_or_create(team=team, defaults=fields)
    return policy


class Crew:
    """One team: an owner, an admin, a member who creates, another member, a viewer."""

    def __init__(self):
        self.team = Team.objects.create(name="Acme")
        self.owner = make_member(self.team, Role.OWNER, "olivia")
        self.admin = make_member(self.team, Role.ADMIN, "adam")
        self.creator = make_member(self.team, Role.MEMBER, "carla")
        self.member = make_member(self.team, Role.MEMBER, "mona")
        self.viewer = make_member(self.team, Role.VIEWER, "victor")

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
