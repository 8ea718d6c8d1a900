"""seed_gallery: realistic rows, quickly, with small real images."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from PIL import Image

from studio.gallery.selectors import Filters, gallery_results
from studio.generations.models import Generation, Result, Status
from studio.teams.models import Membership, Role, Team


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_gallery", stdout=out, **options)
    return out.getvalue()


def test_fills_an_existing_team_by_id(team, user):
    output = seed(team=str(team.pk), results=250, members=4)

    assert "added 250 results" in output
    assert Result.objects.filter(team=team).count() == 250
    generations = Generation.objects.filter(team=team)
    assert all(1 <= g.num_results <= 4 for g in generations)
    assert {g.status for g in generations} <= {Status.SUCCEEDED, Status.FAILED}
    # The owner stays; seeded people join as members, without a usable password.
    members = Membership.objects.filter(team=team).select_related("user")
    assert members.count() == 4
    assert members.get(user=user).role == Role.OWNER
    assert not any(m.user.has_usable_password() for m in members if m.user != user)
    # Spread over time, oldest first; results follow their generation.
    results = Result.objects.filter(team=team).order_by("pk")
    times = list(results.values_list("created_at", flat=True))
    assert times == sorted(times) and (times[-1] - times[0]).days > 300
    assert len({g.prompt for g in generations}) > 20


def test_the_images_are_real_and_shared_by_many_rows(team, user, client_in):
    seed(team=str(team.pk), results=300)

    names = set(Result.objects.filter(team=team).values_list("image", flat=True))
    assert 1 < len(names) <= 25
    result = Result.objects.filter(team=team).select_related("generation").first()
    with result.image.open("rb") as f:
        image = Image.open(f)
        assert image.size == (result.width, result.height)
    response = client_in.get(reverse("result_media", args=[result.pk, "thumbnail"]))
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).format == "WEBP"


def test_seeded_prompts_are_searchable_and_paged(team, user):
    seed(team=str(team.pk), results=200)

    page = gallery_results(team=team, filters=Filters(q="lighthouse"))
    assert page.results and all("lighthouse" in r.generation.prompt.lower() for r in page.results)
    first = gallery_results(team=team)
    assert len(first.results) == 48 and first.next_cursor is not None


def test_a_new_team_by_name_with_create(db):
    output = seed(team="Bench", results=10, create=True)

    team = Team.objects.get(name="Bench")
    assert "Team" in output and Result.objects.filter(team=team).count() == 10
    assert Membership.objects.filter(team=team, role=Role.OWNER).count() == 1


def test_an_unknown_team_is_refused_without_create(db):
    with pytest.raises(CommandError, match="No team 'Nope'"):
        seed(team="Nope", results=10)
    assert not Team.objects.exists()
