"""Notifications: who is told what, the bell and its poll, the page, opt-outs and the digest."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from studio.discussion import selectors
from studio.discussion.models import Notification, NotificationSettings
from studio.discussion.services import notify
from studio.discussion.tasks import send_notification_digests
from studio.generations.models import Generation, Status
from studio.generations.presence import mark_watching
from studio.generations.services import generation_create
from studio.review.services import review_decide
from studio.teams.models import Role
from tests.conftest import wait_for
from tests.fixtures.factories import make_member, make_user
from tests.gallery.factories import make_result, sign_in

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def crew(db):
    owner = make_user("olga")
    team = owner.teams.get()
    maker = make_member(team, Role.MEMBER, "max")
    return team, owner, maker


def test_approval_and_rejection_tell_the_maker_with_the_reason(crew):
    team, owner, maker = crew
    first, second = make_result(team, maker), make_result(team, maker)

    review_decide(team=team, actor=owner, results=[first], approve=True)
    review_decide(team=team, actor=owner, results=[second], approve=False, reason="Too dark")

    texts = list(
        Notification.objects.filter(user=maker, kind="review").values_list("text", flat=True)
    )
    assert len(texts) == 2
    assert "olga approved your “a harbour at night” (image 1)" in texts[1]
    assert texts[0].endswith(": Too dark") and "rejected" in texts[0]
    # Deciding on your own image tells nobody.
    review_decide(team=team, actor=owner, results=[make_result(team, owner)], approve=True)
    assert Notification.objects.count() == 2


def test_a_generation_that_fails_while_its_maker_is_away_is_notified(crew):
    team, owner, maker = crew
    away = Generation.objects.create(team=team, created_by=maker, prompt="p", status=Status.RUNNING)
    here = Generation.objects.create(team=team, created_by=owner, prompt="q", status=Status.RUNNING)
    mark_watching(team_id=team.pk, user_id=owner.pk)

    assert away.move(Status.FAILED) and here.move(Status.FAILED)

    notes = list(Notification.objects.values_list("user__username", "kind"))
    assert notes == [("max", "batch")]


def test_a_finished_batch_is_notified_only_after_leaving_the_page(celery_worker, client):
    away, watcher = make_user("away"), make_user("watcher")
    mark_watching(team_id=watcher.teams.get().pk, user_id=watcher.pk)
    made = [
        generation_create(team=u.teams.get(), user=u, prompt=f"{u} batch", num_results=2)
        for u in (away, watcher)
    ]
    wait_for(
        lambda: (
            Generation.objects.filter(
                pk__in=[g.pk for g in made], ingested_at__isnull=False
            ).count()
            == 2
        ),
        message="the generations did not land",
    )
    # The watcher's mark (the studio page's poll refreshes it) outlasts this batch.
    note = wait_for(lambda: Notification.objects.filter(user=away, kind="batch").first())
    assert "2 images ready" in note.text
    assert not Notification.objects.filter(user=watcher).exists()


def test_the_bell_counts_and_answers_204_while_nothing_changed(
    client, crew, django_assert_max_num_queries
):
    team, owner, maker = crew
    sign_in(client, maker, team)
    team.refresh_from_db()
    bell = reverse("notification_bell")
    with django_assert_max_num_queries(3):  # the middleware's reads only
        assert client.get(bell, {"seq": team.change_seq}, **HTMX).status_code == 204

    notify(team_id=team.pk, user=maker, kind="mention", text="olga mentioned you", url="/")
    response = client.get(bell, {"seq": team.change_seq}, **HTMX)

    assert response.status_code == 200
    assert 'data-unread="1"' in response.content.decode()
    page = client.get(reverse("notification_list")).content.decode()
    assert "olga mentioned you" in page and "1 unread" in page


def test_the_bell_counts_up_to_its_cap(client, crew, monkeypatch):
    team, owner, maker = crew
    monkeypatch.setattr(selectors, "UNREAD_CAP", 2)
    for n in range(4):
        notify(team_id=team.pk, user=maker, kind="mention", text=f"note {n}", url="/")
    sign_in(client, maker, team)

    bell = client.get(reverse("notification_bell"), {"seq": 0}, **HTMX).content.decode()
    page = client.get(reverse("notification_list")).content.decode()

    assert selectors.unread_count(team=team, user=maker) == 3  # counted up to the cap + 1
    assert 'data-unread="3">2+</span>' in bell and "more than 2 unread" in bell
    assert "More than 2 unread" in page


def test_opening_a_notification_marks_it_read_and_goes_there(client, crew):
    team, owner, maker = crew
    result = make_result(team, maker)
    note = notify(
        team_id=team.pk,
        user=maker,
        kind="comment",
        text="x",
        url=reverse("result_detail", args=[result.pk]),
    )
    evil = notify(
        team_id=team.pk, user=maker, kind="comment", text="y", url="https://evil.example/"
    )
    sign_in(client, maker, team)

    response = client.post(reverse("notification_open", args=[note.pk]))
    assert response.status_code == 302 and response.url == note.url
    assert client.post(reverse("notification_open", args=[evil.pk])).url == reverse(
        "notification_list"
    )
    note.refresh_from_db()
    assert note.read_at is not None
    # Someone else's notification in the same team: a 404 too.
    sign_in(client, owner, team)
    assert client.post(reverse("notification_open", args=[note.pk])).status_code == 404

    sign_in(client, maker, team)
    client.post(reverse("notifications_read_all"))
    assert not Notification.objects.filter(user=maker, read_at__isnull=True).exists()


def test_turning_kinds_off_and_the_daily_digest(client, crew):
    team, owner, maker = crew
    maker.email = "max@example.com"
    maker.save()
    sign_in(client, maker, team)
    client.post(reverse("notification_settings"), {"kinds": ["mention"], "daily_digest": "on"})
    prefs = NotificationSettings.objects.get(user=maker)
    assert set(prefs.muted) == {"comment", "review", "batch", "client"} and prefs.daily_digest

    assert notify(team_id=team.pk, user=maker, kind="comment", text="muted") is None
    notify(team_id=team.pk, user=maker, kind="mention", text="olga mentioned you")
    notify(team_id=team.pk, user=owner, kind="mention", text="owner wants no email")

    assert send_notification_digests() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["max@example.com"]
    assert "olga mentioned you" in mail.outbox[0].body
    assert send_notification_digests() == 0  # nothing is emailed twice
