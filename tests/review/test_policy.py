"""The review rule: who sees which results, in cards, the viewer, zips and media."""

from __future__ import annotations

import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from studio.generations.models import Result
from studio.generations.visibility import result_visible, visible_q
from studio.teams.models import Team
from tests.fixtures.factories import make_member
from tests.review.conftest import HTMX, State, set_policy, stored_generation

SEES_ALL = ("owner", "admin", "creator")
SEES_APPROVED = ("member", "viewer")


def shown_ids(html: str) -> set[int]:
    """Result ids whose thumbnails a page shows."""
    return {int(pk) for pk in re.findall(r"/media/results/(\d+)/thumbnail/", html)}


@pytest.fixture
def mixed(crew):
    """The creator's generation: one pending, one approved, one rejected result."""
    generation = stored_generation(
        crew.team, crew.creator, states=(State.PENDING, State.APPROVED, State.REJECTED)
    )
    pending, approved, rejected = generation.results.order_by("position")
    return generation, pending, approved, rejected


# --- cards -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", SEES_ALL)
def test_with_approval_required_creator_admins_and_owners_see_every_result_marked(
    crew, mixed, as_user, role
):
    set_policy(crew.team, require_approval=True)
    _, pending, approved, rejected = mixed

    html = as_user(crew.people()[role]).get(reverse("studio")).content.decode()

    assert shown_ids(html) == {pending.pk, approved.pk, rejected.pk}
    assert html.count('class="review-mark review-mark--pending"') == 1
    assert ">Awaiting review</span>" in html
    assert ">Rejected: too dark</span>" in html
    assert "hidden until approved" not in html


@pytest.mark.parametrize("role", SEES_APPROVED)
def test_with_approval_required_members_and_viewers_see_only_approved_results(
    crew, mixed, as_user, role
):
    set_policy(crew.team, require_approval=True)
    _, pending, approved, rejected = mixed

    html = as_user(crew.people()[role]).get(reverse("studio")).content.decode()

    assert shown_ids(html) == {approved.pk}
    assert "review-mark" not in html
    assert "too dark" not in html
    assert "2 images hidden until approved." in html


def test_without_approval_members_see_pending_but_never_rejected(crew, mixed, as_user):
    _, pending, approved, rejected = mixed  # no policy row: approval not required

    member_html = as_user(crew.member).get(reverse("studio")).content.decode()
    creator_html = as_user(crew.creator).get(reverse("studio")).content.decode()

    assert shown_ids(member_html) == {pending.pk, approved.pk}
    assert "Awaiting review" not in member_html
    assert "1 image hidden until approved." in member_html
    assert shown_ids(creator_html) == {pending.pk, approved.pk, rejected.pk}
    assert "Awaiting review" not in creator_html  # nothing awaits when nothing is required
    assert ">Rejected: too dark</span>" in creator_html


def test_another_members_generation_is_not_theirs_to_see_unapproved(crew, as_user):
    set_policy(crew.team, require_approval=True)
    mine = stored_generation(crew.team, crew.member, states=(State.PENDING,))
    theirs = stored_generation(crew.team, crew.creator, states=(State.PENDING,))

    html = as_user(crew.member).get(reverse("studio")).content.decode()

    assert shown_ids(html) == {mine.results.get().pk}
    assert theirs.results.get().pk not in shown_ids(html)


def test_gallery_query_count_does_not_grow_with_the_cards(crew, as_user):
    set_policy(crew.team, require_approval=True)
    client = as_user(crew.member)
    stored_generation(crew.team, crew.creator, states=(State.PENDING, State.APPROVED))
    client.get(reverse("studio"))  # warm up: session, content types
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("studio"))
    for _ in range(5):
        stored_generation(crew.team, crew.creator, states=(State.PENDING, State.APPROVED))
    with CaptureQueriesContext(connection) as six:
        html = client.get(reverse("studio")).content.decode()

    assert len(shown_ids(html)) == 6
    policy_reads = [q for q in six.captured_queries if "review_teampolicy" in q["sql"]]
    assert len(policy_reads) == 1
    # The card's "edited versions" badge reads per result (it predates review);
    # apart from it, six cards cost what one card costs.
    assert len(_without_badges(six)) == len(_without_badges(one))


def _without_badges(context) -> list:
    return [q for q in context.captured_queries if '"source_result_id" =' not in q["sql"]]


# --- the viewer, zips and media ------------------------------------------------------------------


@pytest.mark.parametrize("role", SEES_ALL + SEES_APPROVED)
def test_viewer_zip_and_media_follow_the_rule(crew, mixed, as_user, role):
    set_policy(crew.team, require_approval=True)
    _, pending, approved, rejected = mixed
    client = as_user(crew.people()[role])
    expected = 200 if role in SEES_ALL else 404

    for result in (pending, rejected):
        assert client.get(reverse("result_detail", args=[result.pk])).status_code == expected
        assert (
            client.get(reverse("result_detail", args=[result.pk]), **HTMX).status_code == expected
        )
        for kind in ("thumbnail", "original"):
            response = client.get(reverse("result_media", args=[result.pk, kind]))
            assert response.status_code == expected
        zipped = client.get(reverse("results_zip"), {"ids": [approved.pk, result.pk]})
        assert zipped.status_code == expected
    assert client.get(reverse("result_detail", args=[approved.pk])).status_code == 200
    assert client.get(reverse("result_media", args=[approved.pk, "original"])).status_code == 200
    assert client.get(reverse("results_zip"), {"ids": [approved.pk]}).status_code == 200


def test_viewer_shows_the_review_state_to_the_creator(crew, mixed, as_user):
    set_policy(crew.team, require_approval=True)
    _, pending, approved, rejected = mixed
    client = as_user(crew.creator)

    assert (
        "Awaiting review"
        in client.get(reverse("result_detail", args=[pending.pk])).content.decode()
    )
    html = client.get(reverse("result_detail", args=[rejected.pk])).content.decode()
    assert "Rejected: too dark" in html
    assert reverse("review_result_decide", args=[rejected.pk]) not in html  # not a reviewer


def test_a_hidden_result_cannot_be_edited_or_reused_either(crew, mixed, as_user):
    set_policy(crew.team, require_approval=True)
    _, pending, _, _ = mixed
    client = as_user(crew.member)

    for url in (
        reverse("result_variations", args=[pending.pk]),
        reverse("result_use_as_reference", args=[pending.pk]),
        reverse("result_derive", args=[pending.pk, "upscale_image"]),
    ):
        assert client.post(url, **HTMX).status_code == 404


def test_media_of_another_team_is_404_even_for_its_owner_elsewhere(crew, mixed, as_user):
    _, _, approved, _ = mixed
    stranger = make_member(Team.objects.create(name="Other"), "owner", personal_team=False)

    response = as_user(stranger).get(reverse("result_media", args=[approved.pk, "thumbnail"]))

    assert response.status_code == 404


def test_site_staff_see_every_thumbnail_for_the_admin(crew, mixed, client, admin_user):
    set_policy(crew.team, require_approval=True)
    _, pending, _, rejected = mixed
    client.force_login(admin_user)

    for result in (pending, rejected):
        assert client.get(reverse("result_media", args=[result.pk, "thumbnail"])).status_code == 200


# --- one rule, two forms ---------------------------------------------------------------------


def test_the_queryset_filter_agrees_with_the_rule_for_every_role_and_state(crew, mixed):
    results = list(Result.objects.filter(team=crew.team).select_related("generation"))
    for require, (name, user) in itertools.product((False, True), crew.people().items()):
        policy = set_policy(crew.team, require_approval=require)
        membership = user.memberships.get()
        by_rule = {
            r.pk
            for r in results
            if result_visible(
                result=r,
                created_by_id=r.generation.created_by_id,
                membership=membership,
                policy=policy,
            )
        }
        by_query = set(
            Result.objects.filter(team=crew.team)
            .filter(visible_q(membership=membership, policy=policy))
            .values_list("pk", flat=True)
        )
        assert by_rule == by_query, (name, require)
