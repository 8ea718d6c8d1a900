"""The gallery's polling endpoint: 204 / 286 / out-of-band cards since a cursor."""

import re

import pytest
from django.urls import reverse

from studio.generations.models import Generation, Status
from studio.generations.services import generation_create
from tests.fixtures.factories import make_user

URL = reverse("gallery_updates")
HTMX = {"HTTP_HX_REQUEST": "true"}


def _cursor(response) -> int:
    return int(
        re.search(r'id="gallery-cursor" name="cursor" value="(\d+)"', response.content.decode())[1]
    )


def _seq(team) -> int:
    team.refresh_from_db()
    return team.change_seq


def test_nothing_changed_while_work_is_in_flight_is_204(client_in, team, user):
    generation_create(team=team, user=user, prompt="waiting")

    response = client_in.get(URL, {"cursor": _seq(team)}, **HTMX)

    assert response.status_code == 204
    assert response.content == b""


def test_nothing_changed_and_nothing_in_flight_slows_the_poll_down(client_in, team, user):
    generation = generation_create(team=team, user=user, prompt="done")
    generation.move(Status.CANCELLED)

    response = client_in.get(URL, {"cursor": _seq(team)}, **HTMX)

    # Not 286 (htmx would stop the poller for good): the poll mode goes idle,
    # out of band; the poller element itself is never replaced.
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="gallery-poll-mode" name="idle" value="1" hx-swap-oob="true"' in html
    assert "gallery-poller" not in html


def test_succeeded_but_not_stored_is_still_in_flight(client_in, team, user):
    generation = generation_create(team=team, user=user, prompt="saving")
    Generation.objects.filter(pk=generation.pk).update(status=Status.SUCCEEDED)

    assert client_in.get(URL, {"cursor": _seq(team)}, **HTMX).status_code == 204


def test_changed_card_comes_out_of_band_with_a_new_cursor(client_in, team, user):
    generation = generation_create(team=team, user=user, prompt="moving")
    cursor = _seq(team)
    generation.move(Status.SUBMITTING)
    generation.move(Status.PENDING, remote_execution_id="vg_exec_x")
    generation.move(Status.RUNNING, progress=42)

    response = client_in.get(URL, {"cursor": cursor}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert (
        f'id="generation-{generation.pk}" class="card" data-status="running" hx-swap-oob="true"'
        in html
    )
    assert 'value="42"' in html
    assert "afterbegin:#gallery" not in html
    assert _cursor(response) == _seq(team)
    # A change sets the quick poll, even for an answer not asked by an idle poll
    # (a pushed copy of it): the next no-change answer decides whether to idle.
    assert 'id="gallery-poll-mode" name="idle" value="" hx-swap-oob="true"' in html


def test_new_cards_are_prepended_and_only_changed_cards_are_sent(client_in, team, user):
    old = generation_create(team=team, user=user, prompt="old and quiet")
    cursor = _seq(team)
    new = generation_create(team=team, user=user, prompt="brand new")

    html = client_in.get(URL, {"cursor": cursor}, **HTMX).content.decode()

    assert '<div hx-swap-oob="afterbegin:#gallery">' in html
    assert f'id="generation-{new.pk}"' in html
    assert f'id="generation-{old.pk}"' not in html


def test_another_teams_changes_are_never_sent(client_in, team, user):
    cursor = _seq(team)
    stranger = make_user()
    generation_create(team=stranger.teams.get(), user=stranger, prompt="secret plans")
    generation_create(team=team, user=user, prompt="ours")

    html = client_in.get(URL, {"cursor": cursor}, **HTMX).content.decode()

    assert "ours" in html
    assert "secret plans" not in html


def test_prompt_is_escaped_in_updates(client_in, team, user):
    cursor = _seq(team)
    generation_create(team=team, user=user, prompt='<script>alert("x")</script>')

    html = client_in.get(URL, {"cursor": cursor}, **HTMX).content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


@pytest.mark.parametrize("cursor", ["", "abc", "1.5"])
def test_malformed_cursor_is_refused(client_in, cursor):
    assert client_in.get(URL, {"cursor": cursor}, **HTMX).status_code == 400


def test_no_change_answer_costs_the_same_whatever_the_gallery_size(
    client_in, team, user, django_assert_max_num_queries
):
    """The no-change path reads the session, the user, the membership (with the
    team's counter) and one indexed in-flight check: the same for 1 or 300 cards."""
    generation_create(team=team, user=user, prompt="first")
    client_in.get(reverse("studio"))  # the session learns its current team once
    cursor = _seq(team)
    with django_assert_max_num_queries(4) as small:
        assert client_in.get(URL, {"cursor": cursor}, **HTMX).status_code == 204

    Generation.objects.bulk_create(
        Generation(team=team, created_by=user, prompt=f"bulk {i}", status=Status.SUCCEEDED)
        for i in range(300)
    )
    cursor = _seq(team)
    with django_assert_max_num_queries(4) as large:
        assert client_in.get(URL, {"cursor": cursor}, **HTMX).status_code == 204

    assert len(large.captured_queries) == len(small.captured_queries)


def test_a_card_changed_between_the_two_reads_is_not_skipped(client_in, team, user):
    """The answer reads which cards changed, then the cards. Here card Y changes,
    then card X again, between those two reads: the cards read carry X's newer
    seq, but the cursor must not pass Y's change, which this answer does not hold."""
    from django.db import connection

    x = generation_create(team=team, user=user, prompt="card x")
    y = generation_create(team=team, user=user, prompt="card y")
    cursor = _seq(team)
    x.touch()  # the change the answer is for
    state = {"ids_read": False, "done": False}

    def between_the_reads(execute, sql, params, many, context):
        table = '"generations_generation"'
        if table in sql and '"seq" >' in sql:
            state["ids_read"] = True
        elif state["ids_read"] and not state["done"] and table in sql and " IN (" in sql:
            state["done"] = True
            y.touch()  # a teammate's change...
            x.touch()  # ...then X again: the card read next carries this seq
        return execute(sql, params, many, context)

    with connection.execute_wrapper(between_the_reads):
        response = client_in.get(URL, {"cursor": cursor}, **HTMX)

    assert state["done"], "the two reads were not seen"
    html = response.content.decode()
    y.refresh_from_db()
    assert f'id="generation-{y.pk}"' in html or _cursor(response) < y.seq, (
        f"cursor {_cursor(response)} passed card y's change {y.seq} without sending it"
    )
