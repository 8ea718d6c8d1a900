"""Comments in the viewer: post, mention, edit, remove, live updates, and who may do what."""

from __future__ import annotations

import pytest
from django.urls import reverse

from studio.discussion.models import Comment, Notification
from studio.teams.models import Role
from tests.fixtures.factories import make_member, make_user
from tests.gallery.factories import make_result, sign_in

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def crew(db):
    owner = make_user("olga")
    team = owner.teams.get()
    people = {
        role: make_member(team, role, f"{role}-person")
        for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER)
    }
    people[Role.OWNER] = owner
    result = make_result(team, people[Role.MEMBER])
    return team, people, result


def _post(client, result, body):
    return client.post(reverse("comment_create", args=[result.pk]), {"body": body}, **HTMX)


def test_a_comment_is_escaped_with_line_breaks_and_links_only(client, crew):
    team, people, result = crew
    sign_in(client, people[Role.OWNER], team)
    body = "<b>bold</b> <script>alert(1)</script>\nsecond line https://example.com/x?a=1&b=2"

    response = _post(client, result, body)

    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<script>alert" not in html
    assert "<br>second line" in html
    assert '<a href="https://example.com/x?a=1&amp;b=2" rel="nofollow">' in html
    assert Comment.objects.get().body == body


def test_mentions_notify_the_named_member_and_the_maker_hears_of_comments(client, crew):
    team, people, result = crew
    sign_in(client, people[Role.OWNER], team)

    _post(client, result, "What do you think, @viewer-person? And @nobody, @olga.")

    kinds = dict(Notification.objects.values_list("user__username", "kind"))
    # The viewer is mentioned; the image's maker hears of a comment; the author is told nothing.
    assert kinds == {"viewer-person": "mention", "member-person": "comment"}
    mention = Notification.objects.get(kind="mention")
    assert mention.url == reverse("result_detail", args=[result.pk])
    assert "olga mentioned you" in mention.text


def test_a_muted_kind_is_not_sent(client, crew):
    team, people, result = crew
    sign_in(client, people[Role.MEMBER], team)
    client.post(reverse("notification_settings"), {"kinds": ["comment"], "daily_digest": ""})
    sign_in(client, people[Role.OWNER], team)

    _post(client, result, "@member-person look")

    assert not Notification.objects.filter(kind="mention").exists()
    assert Notification.objects.filter(kind="comment").count() == 0  # mentioned: one only


@pytest.mark.parametrize(
    ("role", "own", "edit", "remove"),
    [
        (Role.OWNER, False, 403, 200),
        (Role.ADMIN, False, 403, 200),
        (Role.MEMBER, False, 403, 403),
        (Role.VIEWER, False, 403, 403),
        (Role.MEMBER, True, 200, 200),
        (Role.VIEWER, True, 200, 200),
    ],
)
def test_role_by_action(client, crew, role, own, edit, remove):
    """Everyone comments; authors edit and delete their own; admins and owners remove any."""
    team, people, result = crew
    author = people[role] if own else make_comment_author(team, people)
    sign_in(client, author, team)
    assert _post(client, result, "first").status_code == 200
    comment = Comment.objects.get()
    sign_in(client, people[role], team)

    edited = client.post(reverse("comment_edit", args=[comment.pk]), {"body": "changed"}, **HTMX)
    removed = client.post(reverse("comment_remove", args=[comment.pk]), **HTMX)

    assert (edited.status_code, removed.status_code) == (edit, remove)
    comment.refresh_from_db()
    assert (comment.body == "changed") == (edit == 200)
    assert (comment.removed_at is not None) == (remove == 200)


def make_comment_author(team, people):
    return make_member(team, Role.MEMBER, "someone-else")


def test_new_comments_reach_an_open_viewer_through_its_poll(client, crew):
    team, people, result = crew
    sign_in(client, people[Role.VIEWER], team)
    panel = client.get(reverse("result_discussion", args=[result.pk]), **HTMX)
    team.refresh_from_db()
    seq = team.change_seq
    assert f"?seq={seq}" in panel.content.decode()
    updates = reverse("comment_updates", args=[result.pk])

    assert client.get(updates, {"seq": seq}, **HTMX).status_code == 204
    other = client.__class__()
    sign_in(other, people[Role.ADMIN], team)
    _post(other, result, "fresh words")

    response = client.get(updates, {"seq": seq}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "fresh words" in html and 'hx-swap-oob="true"' in html
    team.refresh_from_db()
    assert f"?seq={team.change_seq}" in html
    assert client.get(updates, {"seq": team.change_seq}, **HTMX).status_code == 204


def test_an_unchanged_poll_makes_no_query_beyond_the_middlewares(
    client, crew, django_assert_max_num_queries
):
    team, people, result = crew
    sign_in(client, people[Role.MEMBER], team)
    team.refresh_from_db()
    url = reverse("comment_updates", args=[result.pk])
    client.get(url, {"seq": team.change_seq})
    # session, user, membership+team: the middleware's reads; nothing of the discussion.
    with django_assert_max_num_queries(3):
        assert client.get(url, {"seq": team.change_seq}).status_code == 204


def test_a_hidden_result_cannot_be_discussed(client, crew):
    """Rejected images are hidden from members and viewers: their thread is a 404 too."""
    team, people, result = crew
    result.review_state = "rejected"
    result.save()
    sign_in(client, people[Role.VIEWER], team)

    assert client.get(reverse("result_discussion", args=[result.pk]), **HTMX).status_code == 404
    assert _post(client, result, "hi").status_code == 404
