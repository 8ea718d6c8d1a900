"""The review queue: who may use it, what it lists, single and bulk decisions."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from studio.audit.models import AuditEntry
from studio.generations.models import Generation, Result, Status
from studio.teams.models import Team
from tests.fixtures.factories import make_member
from tests.review.conftest import HTMX, State, set_policy, stored_generation

QUEUE = reverse("review_queue")
DECIDE = reverse("review_decide")


def queued_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="review-item-(\d+)"', html)]


def states(*results) -> list[str]:
    return [Result.objects.get(pk=r.pk).review_state for r in results]


@pytest.fixture
def waiting(crew):
    """Two generations by the creator: three results awaiting review, oldest first."""
    first = stored_generation(crew.team, crew.creator, states=(State.PENDING, State.PENDING))
    second = stored_generation(crew.team, crew.member, states=(State.PENDING,), prompt="a fox")
    return [*first.results.order_by("position"), second.results.get()]


def test_admins_and_owners_see_the_pending_results_oldest_first(crew, waiting, as_user):
    stored_generation(crew.team, crew.creator, states=(State.APPROVED, State.REJECTED))
    unstored = stored_generation(crew.team, crew.creator, states=(State.PENDING,))
    Result.objects.filter(generation=unstored).update(sha256="")  # not in storage yet

    for user in (crew.owner, crew.admin):
        response = as_user(user).get(QUEUE)
        html = response.content.decode()
        assert response.status_code == 200
        assert queued_ids(html) == [r.pk for r in waiting]
        assert "3 images awaiting review" in html
        assert "a red kite over the hills" in html and "carla" in html and "mona" in html
        assert html.count("<kbd>") >= 6  # the legend of keys


@pytest.mark.parametrize("role", ["creator", "member", "viewer"])
def test_members_and_viewers_get_403_and_no_link(crew, waiting, as_user, role):
    client = as_user(crew.people()[role])

    assert client.get(QUEUE).status_code == 403
    assert client.post(DECIDE, {"ids": [waiting[0].pk], "decision": "approve"}).status_code == 403
    assert client.get(reverse("review_audit")).status_code == 403
    assert client.get(reverse("review_usage")).status_code == 403
    assert client.get(reverse("review_settings")).status_code == 403
    studio = client.get(reverse("studio")).content.decode()
    assert QUEUE not in studio and "Review queue" not in studio
    assert states(waiting[0]) == [State.PENDING]


def test_admins_have_the_links_in_the_top_bar(crew, as_user):
    html = as_user(crew.admin).get(reverse("studio")).content.decode()

    for name in ("review_queue", "review_audit", "review_usage"):
        assert f'href="{reverse(name)}"' in html


def test_approve_one_from_the_queue(crew, waiting, as_user):
    team_seq = Team.objects.get(pk=crew.team.pk).change_seq
    target = waiting[1]

    response = as_user(crew.admin).post(
        DECIDE, {"ids": [target.pk], "decision": "approve", "origin": str(target.pk)}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="review-queue"')
    assert queued_ids(html) == [waiting[0].pk, waiting[2].pk]
    assert json.loads(response["HX-Trigger"]) == {"studio:done": {"message": "Approved 1 image."}}
    assert states(*waiting) == [State.PENDING, State.APPROVED, State.PENDING]
    # The card is a visible change: every open gallery fetches it again.
    generation = Generation.objects.get(pk=target.generation_id)
    assert generation.seq > team_seq
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.target_id) == (
        "review.approve",
        crew.admin,
        str(target.pk),
    )


def test_reject_one_needs_a_reason(crew, waiting, as_user):
    client = as_user(crew.owner)
    target = waiting[0]

    response = client.post(
        DECIDE, {"ids": [target.pk], "decision": "reject", "origin": str(target.pk)}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Say why: the creator sees the reason." in html
    assert f'id="reason-error-{target.pk}"' in html
    assert html.count("data-reject open>") == 1  # that image's reason field stays open
    assert re.search(rf'id="reason-{target.pk}"[^>]*aria-invalid="true"', html)
    assert states(target) == [State.PENDING]
    assert not AuditEntry.objects.exists()

    response = client.post(
        DECIDE,
        {
            "ids": [target.pk],
            "decision": "reject",
            "reason": "logo visible",
            "origin": str(target.pk),
        },
        **HTMX,
    )

    assert queued_ids(response.content.decode()) == [waiting[1].pk, waiting[2].pk]
    target.refresh_from_db()
    assert (target.review_state, target.review_reason) == (State.REJECTED, "logo visible")
    entry = AuditEntry.objects.get()
    assert entry.before == {"review_state": "pending", "review_reason": ""}
    assert entry.after == {"review_state": "rejected", "review_reason": "logo visible"}


def test_bulk_approve_and_bulk_reject(crew, waiting, as_user):
    client = as_user(crew.admin)

    response = client.post(
        DECIDE,
        {"ids": [waiting[0].pk, waiting[2].pk], "decision": "approve", "origin": "bulk"},
        **HTMX,
    )

    assert json.loads(response["HX-Trigger"])["studio:done"]["message"] == "Approved 2 images."
    assert states(*waiting) == [State.APPROVED, State.PENDING, State.APPROVED]
    assert queued_ids(response.content.decode()) == [waiting[1].pk]

    response = client.post(
        DECIDE,
        {
            "ids": [waiting[1].pk, waiting[2].pk],
            "decision": "reject",
            "reason": "off brief",
            "origin": "bulk",
        },
        **HTMX,
    )

    assert states(*waiting) == [State.APPROVED, State.REJECTED, State.REJECTED]
    assert "Nothing awaits review" in response.content.decode()
    assert list(AuditEntry.objects.order_by("pk").values_list("action", "target_id")) == [
        ("review.approve", str(waiting[0].pk)),
        ("review.approve", str(waiting[2].pk)),
        ("review.reject", str(waiting[1].pk)),
        ("review.reject", str(waiting[2].pk)),
    ]


def test_bulk_reject_without_reason_or_selection_says_so_next_to_the_bar(crew, waiting, as_user):
    client = as_user(crew.admin)

    no_reason = client.post(
        DECIDE, {"ids": [waiting[0].pk], "decision": "reject", "origin": "bulk"}, **HTMX
    ).content.decode()
    nothing = client.post(
        DECIDE, {"decision": "approve", "origin": "bulk"}, **HTMX
    ).content.decode()

    assert 'id="reason-error-bulk"' in no_reason and 'aria-invalid="true"' in no_reason
    assert "Select at least one image first." in nothing
    assert states(*waiting) == [State.PENDING] * 3


def test_another_teams_result_is_404_and_nothing_changes(crew, waiting, as_user):
    other_team = Team.objects.create(name="Other")
    stranger = make_member(other_team, "owner", personal_team=False)
    foreign = stored_generation(other_team, stranger).results.get()

    response = as_user(crew.admin).post(
        DECIDE, {"ids": [waiting[0].pk, foreign.pk], "decision": "approve"}, **HTMX
    )

    assert response.status_code == 404
    assert states(waiting[0], foreign) == [State.PENDING, State.PENDING]
    assert (
        as_user(crew.admin)
        .post(reverse("review_result_decide", args=[foreign.pk]), {"decision": "approve"})
        .status_code
        == 404
    )


def test_without_htmx_a_decision_redirects_back_to_the_queue(crew, waiting, as_user):
    response = as_user(crew.admin).post(DECIDE, {"ids": [waiting[0].pk], "decision": "approve"})

    assert response.status_code == 302 and response["Location"] == QUEUE
    assert states(waiting[0]) == [State.APPROVED]


def test_deciding_again_with_the_same_outcome_changes_nothing(crew, waiting, as_user):
    client = as_user(crew.admin)
    client.post(DECIDE, {"ids": [waiting[0].pk], "decision": "approve"}, **HTMX)
    seq = Generation.objects.get(pk=waiting[0].generation_id).seq

    response = client.post(DECIDE, {"ids": [waiting[0].pk], "decision": "approve"}, **HTMX)

    assert json.loads(response["HX-Trigger"])["studio:done"]["message"] == "No change."
    assert AuditEntry.objects.count() == 1
    assert Generation.objects.get(pk=waiting[0].generation_id).seq == seq


def test_approve_and_reject_from_the_viewer(crew, waiting, as_user):
    client = as_user(crew.owner)
    url = reverse("review_result_decide", args=[waiting[0].pk])

    missing = client.post(url, {"decision": "reject"}, **HTMX).content.decode()
    rejected = client.post(url, {"decision": "reject", "reason": "blurry"}, **HTMX).content.decode()
    approved = client.post(
        reverse("review_result_decide", args=[waiting[1].pk]), {"decision": "approve"}, **HTMX
    ).content.decode()

    assert "Say why: the creator sees the reason." in missing
    assert "Rejected: blurry" in rejected
    assert f'id="review-box-{waiting[1].pk}"' in approved and ">Approved</p>" in approved
    assert states(*waiting[:2]) == [State.REJECTED, State.APPROVED]
    viewer = client.get(reverse("result_detail", args=[waiting[2].pk])).content.decode()
    assert reverse("review_result_decide", args=[waiting[2].pk]) in viewer


def test_a_decision_reaches_members_galleries_live(crew, as_user):
    """Members keep polling while images await approval; the touched card is re-sent."""
    set_policy(crew.team, require_approval=True)
    generation = stored_generation(crew.team, crew.creator, states=(State.PENDING,))
    result = generation.results.get()
    member = as_user(crew.member)
    cursor = Team.objects.get(pk=crew.team.pk).change_seq

    idle = member.get(reverse("gallery_updates"), {"cursor": cursor}, **HTMX)
    assert idle.status_code == 204  # nothing in flight, but a review may change the card

    as_user(crew.admin).post(DECIDE, {"ids": [result.pk], "decision": "approve"}, **HTMX)
    member = as_user(crew.member)
    update = member.get(reverse("gallery_updates"), {"cursor": cursor}, **HTMX)

    html = update.content.decode()
    assert update.status_code == 200
    assert f'id="generation-{generation.pk}"' in html and 'hx-swap-oob="true"' in html
    assert f"/media/results/{result.pk}/thumbnail/" in html
    new_cursor = Team.objects.get(pk=crew.team.pk).change_seq
    # Nothing awaits review any more: polling may slow down to the idle pace.
    idle = member.get(reverse("gallery_updates"), {"cursor": new_cursor}, **HTMX)
    assert 'id="gallery-poll-mode" name="idle" value="1"' in idle.content.decode()


def test_queue_lists_a_derived_result_with_its_tool(crew, as_user):
    source = stored_generation(crew.team, crew.creator, states=(State.APPROVED,)).results.get()
    stored_generation(
        crew.team, crew.creator, states=(State.PENDING,), tool="upscale_image", source_result=source
    )
    Generation.objects.filter(tool="upscale_image").update(status=Status.SUCCEEDED)

    html = as_user(crew.admin).get(QUEUE).content.decode()

    assert "Upscale ·" in html
