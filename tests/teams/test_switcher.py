"""The current team: kept in the session, checked on every request, switched
from the header; making a new team; the studio page for a teammate watching."""

from __future__ import annotations

import re

from django.urls import reverse

from studio.generations.models import Generation, Status
from studio.generations.services import generation_create
from studio.teams.middleware import SESSION_KEY
from studio.teams.models import Membership, Role, Team
from tests.fixtures.factories import make_member, make_user
from tests.gallery.factories import make_result, sign_in

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_header_lists_my_teams_and_switching_changes_everything_shown(client, team, user):
    acme = Team.objects.create(name="Acme")
    Membership.objects.create(team=acme, user=user, role=Role.MEMBER)
    make_result(team, user, prompt="personal sketch")
    make_result(acme, user, prompt="acme campaign")
    client.force_login(user)

    page = client.get(reverse("gallery")).content.decode()
    assert "personal sketch" in page and "acme campaign" not in page
    assert f'action="{reverse("team_switch", args=[acme.pk])}"' in page
    assert re.search(r'aria-current="true">\s*<span>alice&#x27;s team</span>', page)

    response = client.post(
        reverse("team_switch", args=[acme.pk]), {"next": reverse("gallery")}
    )

    assert response.status_code == 302 and response["Location"] == reverse("gallery")
    assert client.session[SESSION_KEY] == acme.pk
    page = client.get(reverse("gallery")).content.decode()
    assert "acme campaign" in page and "personal sketch" not in page


def test_switching_to_a_team_i_am_not_in_is_404(client, user):
    stranger = make_user("stranger")
    client.force_login(user)

    response = client.post(reverse("team_switch", args=[stranger.teams.get().pk]))

    assert response.status_code == 404
    assert client.session.get(SESSION_KEY) != stranger.teams.get().pk


def test_switching_never_redirects_off_site(client, team, user):
    client.force_login(user)

    response = client.post(reverse("team_switch", args=[team.pk]), {"next": "https://evil.example/"})

    assert response["Location"] == reverse("studio")


def test_a_removed_membership_falls_back_to_another_team_on_the_next_request(client, team, user):
    acme = Team.objects.create(name="Acme")
    membership = Membership.objects.create(team=acme, user=user, role=Role.MEMBER)
    sign_in(client, user, acme)
    make_result(acme, user, prompt="acme only")
    assert "acme only" in client.get(reverse("gallery")).content.decode()

    membership.delete()

    assert "acme only" not in client.get(reverse("gallery")).content.decode()
    assert client.session[SESSION_KEY] == team.pk


def test_create_a_team_and_become_its_owner(client, user):
    client.force_login(user)

    response = client.post(reverse("team_create"), {"name": "  Night shift  "})

    team = Team.objects.get(name="Night shift")
    assert response.status_code == 302 and response["Location"] == reverse("team_settings")
    assert Membership.objects.get(team=team, user=user).role == Role.OWNER
    assert client.session[SESSION_KEY] == team.pk
    page = client.get(reverse("team_settings")).content.decode()
    assert "<h1>Night shift</h1>" in page


def test_a_team_needs_a_name(client, user):
    client.force_login(user)

    response = client.post(reverse("team_create"), {"name": "   "})

    assert response.status_code == 200
    assert "Give the team a name." in response.content.decode()
    assert Team.objects.count() == 1


def test_someone_in_no_team_is_sent_to_create_one(client, db):
    from django.contrib.auth import get_user_model

    loner = get_user_model().objects.create_user(username="loner", password="x")
    client.force_login(loner)

    assert client.get(reverse("gallery"))["Location"] == reverse("team_list")
    assert client.get(reverse("team_settings"))["Location"] == reverse("team_list")
    assert "Create a team" in client.get(reverse("team_list")).content.decode()


# --- a teammate watching the studio page ---------------------------------------------------

UPDATES = reverse("gallery_updates")


def _seq(team) -> int:
    team.refresh_from_db()
    return team.change_seq


def test_with_nothing_in_flight_the_quick_poll_hands_over_to_an_idle_one(client, team, user):
    generation = generation_create(team=team, user=user, prompt="done")
    generation.move(Status.CANCELLED)
    sign_in(client, user, team)

    response = client.get(UPDATES, {"cursor": _seq(team)}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    # The poll mode turns idle (a slower poll that keeps asking, so a teammate's
    # work still shows); the poller itself stays in the page.
    assert 'id="gallery-poll-mode" name="idle" value="1" hx-swap-oob="true"' in html
    assert 'id="gallery-poller"' not in html


def test_a_teammates_new_generation_reaches_an_idle_watcher(client, team, user):
    bob = make_member(team, Role.MEMBER, "bob")
    sign_in(client, user, team)
    cursor = _seq(team)
    assert client.get(UPDATES, {"cursor": cursor, "idle": "1"}, **HTMX).status_code == 204

    generation_create(team=team, user=bob, prompt="bob's new idea")
    response = client.get(UPDATES, {"cursor": cursor, "idle": "1"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "bob&#x27;s new idea" in html and ">bob · " in html
    assert '<div hx-swap-oob="afterbegin:#gallery">' in html
    # Work is in flight again: back to the quick poll.
    assert 'id="gallery-poll-mode" name="idle" value="" hx-swap-oob="true"' in html
    assert 'id="gallery-poller"' not in html


def test_an_idle_no_change_answer_is_three_queries_whatever_the_gallery(
    client, team, user, django_assert_num_queries
):
    sign_in(client, user, team)
    client.get(reverse("studio"))
    cursor = _seq(team)
    with django_assert_num_queries(3):  # session, user, membership with the team's counter
        assert client.get(UPDATES, {"cursor": cursor, "idle": "1"}, **HTMX).status_code == 204
    Generation.objects.bulk_create(
        Generation(team=team, created_by=user, prompt=f"bulk {i}", status=Status.QUEUED)
        for i in range(300)
    )
    cursor = _seq(team)
    with django_assert_num_queries(3):
        assert client.get(UPDATES, {"cursor": cursor, "idle": "1"}, **HTMX).status_code == 204


def test_a_viewer_sees_the_studio_without_the_generate_form(client, team):
    viewer = make_member(team, Role.VIEWER, "vi")
    sign_in(client, viewer, team)

    page = client.get(reverse("studio")).content.decode()

    assert 'id="generation-form"' not in page
    assert "You are a viewer in" in page
    assert 'id="gallery-poller"' in page  # still sees new work land


def test_a_viewer_gets_no_cancel_retry_or_remix_on_cards(client, team, user):
    running = generation_create(team=team, user=user, prompt="still running")
    failed = generation_create(team=team, user=user, prompt="went wrong")
    failed.move(Status.FAILED, error_message="No luck.")
    viewer = make_member(team, Role.VIEWER, "vi")

    sign_in(client, viewer, team)
    as_viewer = client.get(reverse("studio")).content.decode()
    sign_in(client, user, team)
    as_owner = client.get(reverse("studio")).content.decode()

    for action in (
        reverse("generation_cancel", args=[running.pk]),
        reverse("generation_resubmit", args=[failed.pk]),
        reverse("generation_remix", args=[failed.pk]),
    ):
        assert action in as_owner and action not in as_viewer
