"""The audit log: an entry for each kind of action, append-only, and its page."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.urls import reverse

from studio.audit.models import AppendOnly, AuditEntry
from studio.audit.services import record as audit_record
from studio.generations.models import Generation, Result, Status
from studio.generations.services import generation_create
from studio.teams.models import Membership, TeamPolicy
from tests.conftest import wait_for
from tests.fixtures.factories import make_member
from tests.review.conftest import HTMX, State, stored_generation

Action = AuditEntry.Action


class _Form(HTMLParser):
    """The values a browser would post for the form with id `form_id`."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.data, self._select, self._textarea = (
            form_id,
            False,
            [],
            None,
            None,
        )

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "name" not in a and tag != "option":
            return
        if tag == "input" and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if a.get("type") in ("checkbox", "radio") else ""
            self.data.append((a["name"], a.get("value", default)))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.data.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data.append((self._textarea, ""))

    def handle_data(self, data):
        if self._textarea:
            name, value = self.data.pop()
            self.data.append((name, value + data.strip("\n")))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self.inside = False


def admin_form(client, url, form_id, **changes) -> dict:
    parser = _Form(form_id)
    parser.feed(client.get(url).content.decode())
    data: dict = {}
    for name, value in parser.data:
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def entries(**filters):
    return list(AuditEntry.objects.filter(**filters).order_by("pk"))


# --- each kind of action -----------------------------------------------------------------------


def test_review_decisions_are_recorded_with_before_and_after(crew, as_user):
    generation = stored_generation(crew.team, crew.creator, states=(State.PENDING, State.PENDING))
    first, second = generation.results.order_by("position")
    client = as_user(crew.admin)

    client.post(reverse("review_decide"), {"ids": [first.pk], "decision": "approve"}, **HTMX)
    client.post(
        reverse("review_decide"),
        {"ids": [second.pk], "decision": "reject", "reason": "nsfw"},
        **HTMX,
    )

    approve, reject = entries()
    assert (approve.action, approve.actor_label, approve.via) == (Action.APPROVE, "adam", "studio")
    assert approve.target_type == "generations.result" and approve.target_id == str(first.pk)
    assert approve.target_label == f"Image 1 of generation {generation.pk}"
    assert approve.after == {"review_state": "approved", "review_reason": ""}
    assert reject.before == {"review_state": "pending", "review_reason": ""}
    assert reject.after == {"review_state": "rejected", "review_reason": "nsfw"}
    assert {e.team_id for e in (approve, reject)} == {crew.team.pk}


def test_require_approval_change_is_recorded_and_can_approve_what_members_saw(crew, as_user):
    old = stored_generation(crew.team, crew.creator, states=(State.PENDING, State.REJECTED))
    client = as_user(crew.owner)

    response = client.post(
        reverse("review_settings"), {"require_approval": "on", "approve_existing": "on"}, **HTMX
    )

    assert response.status_code == 200 and "Saved." in response.content.decode()
    assert TeamPolicy.objects.get(team=crew.team).require_approval is True
    assert list(old.results.order_by("position").values_list("review_state", flat=True)) == [
        State.APPROVED,
        State.REJECTED,  # a rejection stands
    ]
    (entry,) = entries()
    assert (entry.action, entry.actor, entry.target_label) == (
        Action.APPROVAL_CHANGE,
        crew.owner,
        "Team Acme",
    )
    assert entry.before == {"require_approval": False}
    assert entry.after == {"require_approval": True, "approved_existing": 1}

    client.post(reverse("review_settings"), {})  # turned off again, without htmx
    assert entries()[-1].after == {"require_approval": False}
    assert len(entries()) == 2


def test_require_approval_without_approving_the_backlog(crew, as_user):
    old = stored_generation(crew.team, crew.creator, states=(State.PENDING,))

    as_user(crew.admin).post(reverse("review_settings"), {"require_approval": "on"})

    assert old.results.get().review_state == State.PENDING
    assert entries()[0].after == {"require_approval": True}


def test_quota_change_in_the_admin_is_recorded(crew, admin_client, admin_user):
    url = reverse("admin:teams_team_change", args=[crew.team.pk])
    data = admin_form(
        admin_client, url, "team_form", **{"review_policy-0-monthly_image_quota": "500"}
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302, re.findall(r"errorlist.{0,300}", response.content.decode())
    assert TeamPolicy.objects.get(team=crew.team).monthly_image_quota == 500
    (entry,) = entries()
    assert (entry.action, entry.via, entry.actor) == (Action.QUOTA_CHANGE, "admin", admin_user)
    assert (entry.before, entry.after) == (
        {"monthly_image_quota": None},
        {"monthly_image_quota": 500},
    )

    data = admin_form(admin_client, url, "team_form", **{"review_policy-0-monthly_image_quota": ""})
    admin_client.post(url, data)
    assert entries()[-1].after == {"monthly_image_quota": None}
    assert TeamPolicy.objects.get(team=crew.team).monthly_image_quota is None


def test_role_changes_and_members_in_the_admin_are_recorded(crew, admin_client):
    membership = Membership.objects.get(user=crew.member)
    url = reverse("admin:teams_membership_change", args=[membership.pk])

    admin_client.post(url, admin_form(admin_client, url, "membership_form", role="admin"))

    (entry,) = entries()
    assert (entry.action, entry.via) == (Action.ROLE_CHANGE, "admin")
    assert (entry.before, entry.after) == ({"role": "member"}, {"role": "admin"})
    assert entry.target_label == "mona in Acme"

    team_url = reverse("admin:teams_team_change", args=[crew.team.pk])
    data = admin_form(admin_client, team_url, "team_form")
    viewer_form = next(
        k.rsplit("-", 1)[0]
        for k, v in data.items()
        if k.startswith("memberships-") and k.endswith("-user") and v == [str(crew.viewer.pk)]
    )
    data[f"{viewer_form}-role"] = "member"
    admin_client.post(team_url, data)
    assert (entries()[-1].action, entries()[-1].after) == (Action.ROLE_CHANGE, {"role": "member"})

    admin_client.post(
        reverse("admin:teams_membership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert (entries()[-1].action, entries()[-1].before) == (Action.MEMBER_REMOVE, {"role": "admin"})


def test_role_change_by_the_teams_service_is_recorded(crew):
    from studio.teams.services import membership_change_role

    owner = Membership.objects.get(user=crew.owner)
    membership = Membership.objects.get(user=crew.viewer)

    membership_change_role(actor=owner, membership=membership, role="member")

    (entry,) = entries()
    assert (entry.action, entry.actor, entry.via) == (Action.ROLE_CHANGE, crew.owner, "studio")
    assert (entry.before, entry.after) == ({"role": "viewer"}, {"role": "member"})


def test_admin_approve_and_reject_actions_are_recorded(crew, admin_client):
    generation = stored_generation(crew.team, crew.creator, states=(State.PENDING,) * 3)
    results = list(generation.results.order_by("position"))
    url = reverse("admin:generations_result_changelist")

    admin_client.post(url, {"action": "approve", "_selected_action": [results[0].pk], "index": 0})
    ask = admin_client.post(
        url, {"action": "reject", "_selected_action": [r.pk for r in results[1:]], "index": 0}
    )
    assert ask.status_code == 200 and "Reject 2 results" in ask.content.decode()
    empty = admin_client.post(
        url, {"action": "reject", "_selected_action": [r.pk for r in results[1:]], "apply": "1"}
    )
    assert empty.status_code == 200 and "This field is required." in empty.content.decode()
    done = admin_client.post(
        url,
        {
            "action": "reject",
            "_selected_action": [r.pk for r in results[1:]],
            "apply": "1",
            "reason": "brand colours",
        },
    )

    assert done.status_code == 302
    assert [Result.objects.get(pk=r.pk).review_state for r in results] == [
        State.APPROVED,
        State.REJECTED,
        State.REJECTED,
    ]
    assert [(e.action, e.via, e.after["review_reason"]) for e in entries()] == [
        (Action.APPROVE, "admin", ""),
        (Action.REJECT, "admin", "brand colours"),
        (Action.REJECT, "admin", "brand colours"),
    ]


def test_admin_cancel_in_flight_is_recorded_and_leaves_finished_ones(crew, admin_client):
    queued = generation_create(team=crew.team, user=crew.creator, prompt="queued", num_results=2)
    finished = stored_generation(crew.team, crew.creator)

    admin_client.post(
        reverse("admin:generations_generation_changelist"),
        {"action": "cancel_in_flight", "_selected_action": [queued.pk, finished.pk], "index": 0},
    )

    assert Generation.objects.get(pk=queued.pk).status == Status.CANCELLED
    assert Generation.objects.get(pk=finished.pk).status == Status.SUCCEEDED
    (entry,) = entries()
    assert (entry.action, entry.target_id, entry.via) == (Action.CANCEL, str(queued.pk), "admin")
    assert (entry.before, entry.after) == ({"status": "queued"}, {"status": "cancelled"})


def test_admin_rerun_ingest_stores_a_lost_file_again_and_is_recorded(
    celery_worker, admin_user, client, media_root
):
    """The real pipeline: generate through the sandbox, lose a thumbnail, re-run ingest."""
    from tests.review.conftest import Crew

    crew = Crew()
    generation = generation_create(team=crew.team, user=crew.creator, prompt="a harbour")
    wait_for(lambda: Generation.objects.get(pk=generation.pk).ingested_at, timeout=30)
    result = generation.results.get()
    default_storage.delete(result.thumbnail.name)
    client.force_login(admin_user)

    client.post(
        reverse("admin:generations_generation_changelist"),
        {"action": "rerun_ingest", "_selected_action": [generation.pk], "index": 0},
    )

    (entry,) = entries()
    assert (entry.action, entry.before, entry.after) == (
        Action.REINGEST,
        {"ingested": True},
        {"ingested": False, "missing_images": [1]},
    )
    wait_for(lambda: Generation.objects.get(pk=generation.pk).ingested_at, timeout=30)
    result.refresh_from_db()
    assert result.thumbnail and default_storage.exists(result.thumbnail.name)


def test_teams_may_record_with_team_id(crew):
    membership = Membership.objects.get(user=crew.member)

    audit_record(
        team_id=crew.team.pk,
        actor=crew.owner,
        action="member.add",
        target=membership,
        before={},
        after={"role": "member"},
    )

    assert entries()[0].team_id == crew.team.pk
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit_record(
            team=crew.team, actor=None, action="made.up", target=membership, before={}, after={}
        )


# --- append-only --------------------------------------------------------------------------------


def test_entries_cannot_be_changed_or_deleted(crew):
    entry = audit_record(
        team=crew.team,
        actor=crew.owner,
        action=Action.QUOTA_CHANGE,
        target=crew.team,
        before={},
        after={"monthly_image_quota": 1},
    )

    entry.after = {"monthly_image_quota": 999}
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(actor_label="someone else")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    impostor = AuditEntry(
        pk=entry.pk,
        team=crew.team,
        actor_label="x",
        action=Action.APPROVE,
        target_type="x",
        target_id="1",
        target_label="x",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        impostor.save()  # an insert with an existing key, never an update
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert (entry.actor_label, entry.after) == ("olivia", {"monthly_image_quota": 1})


def test_the_admin_shows_the_log_read_only(crew, admin_client):
    entry = audit_record(
        team=crew.team,
        actor=crew.owner,
        action=Action.QUOTA_CHANGE,
        target=crew.team,
        before={"monthly_image_quota": None},
        after={"monthly_image_quota": 9},
    )

    changelist = admin_client.get(reverse("admin:audit_auditentry_changelist"))
    detail = admin_client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
    post = admin_client.post(reverse("admin:audit_auditentry_change", args=[entry.pk]), {})

    assert changelist.status_code == 200 and "olivia" in changelist.content.decode()
    assert 'name="action"' not in changelist.content.decode()  # no delete action
    assert detail.status_code == 200 and "_save" not in detail.content.decode()
    assert "Quota: — → 9" in detail.content.decode()
    assert post.status_code == 403
    assert admin_client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    delete = reverse("admin:audit_auditentry_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.count() == 1


# --- the page for admins and owners -----------------------------------------------------------


@pytest.fixture
def logged(crew):
    """Entries by two people, of two actions; plus another team's entry."""
    other_team = crew.team.__class__.objects.create(name="Other")
    other = make_member(other_team, "owner", "otto", personal_team=False)
    for i in range(3):
        audit_record(
            team=crew.team,
            actor=crew.admin,
            action=Action.APPROVE,
            target=crew.team,
            before={},
            after={"n": i},
        )
    audit_record(
        team=crew.team,
        actor=crew.owner,
        action=Action.REJECT,
        target=crew.team,
        before={},
        after={"n": 3},
    )
    audit_record(
        team=other.teams.get(),
        actor=other,
        action=Action.APPROVE,
        target=other.teams.get(),
        before={},
        after={"n": 99},
    )


def _rows(html: str) -> list[str]:
    return re.findall(r"<tr>\s*<td><time[^>]*>[^<]*</time></td>\s*<td>([^<]*)</td>", html)


def test_audit_page_newest_first_filtered_by_person_and_action(crew, logged, as_user):
    client = as_user(crew.owner)
    url = reverse("review_audit")

    everything = client.get(url).content.decode()
    by_adam = client.get(url, {"person": crew.admin.pk}).content.decode()
    rejects = client.get(url, {"action": Action.REJECT}).content.decode()

    assert _rows(everything) == ["olivia", "adam", "adam", "adam"]
    assert "otto" not in everything and "<ins>99</ins>" not in everything
    assert _rows(by_adam) == ["adam"] * 3
    assert _rows(rejects) == ["olivia"]
    assert f'<option value="{crew.admin.pk}" selected>adam</option>' in by_adam
    assert client.get(url, {"person": "nobody"}).status_code == 200  # a bad filter shows all


def test_audit_page_is_paginated(crew, as_user):
    for i in range(55):
        audit_record(
            team=crew.team,
            actor=crew.admin,
            action=Action.APPROVE,
            target=crew.team,
            before={},
            after={"n": i},
        )
    client = as_user(crew.admin)

    first = client.get(reverse("review_audit"), {"action": Action.APPROVE}).content.decode()
    second = client.get(
        reverse("review_audit"), {"action": Action.APPROVE, "page": 2}
    ).content.decode()

    assert len(_rows(first)) == 50 and len(_rows(second)) == 5
    assert "Page 1 of 2 · 55 entries" in first
    assert "?action=review.approve&amp;page=2" in first
    assert "N</span> <ins>54</ins>" in first and "N</span> <ins>0</ins>" in second
