"""Markup in a comment or in a client's name is text on every page that shows it:
the viewer's thread and its live update, notifications, the collection's client
activity and its live update, the client's own page, and the audit log."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from studio.discussion.services import comment_post
from studio.gallery.models import ClientLink
from studio.teams.models import Membership, Role
from tests.fixtures.factories import make_member, make_user
from tests.gallery.factories import make_collection, make_result, sign_in
from tests.security.test_xss import PAYLOAD, RAW

HTMX = {"HTTP_HX_REQUEST": "true"}
NAME = PAYLOAD[2:70]  # a name has at most 100 characters: the script and the img tag


def _assert_text(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where}: unescaped {raw!r}"
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html, f"{where}: not shown at all"


def test_comments_and_client_names_are_text_everywhere(db):
    owner = make_user("olga")
    team = owner.teams.get()
    other = make_member(team, Role.MEMBER, "mia")
    result = make_result(team, owner)
    collection = make_collection(team, owner, "Board", results=[result])
    comment_post(
        membership=Membership.objects.get(team=team, user=other),
        result=result,
        body=f"@olga {PAYLOAD}",
    )
    link = ClientLink.objects.create(
        team=team,
        collection=collection,
        created_by=owner,
        expires_at=timezone.now() + timedelta(days=1),
    )
    visitor = Client()
    visitor.post(reverse("client_name", args=[link.token]), {"name": NAME})
    visitor.post(
        reverse("client_pick", args=[link.token, result.pk]),
        {"action": "comment", "comment": PAYLOAD},
    )
    _assert_text(
        visitor.get(reverse("client_link", args=[link.token])).content.decode(), "client page"
    )

    member = sign_in(Client(), owner, team)
    pages = {
        "viewer thread": (reverse("result_discussion", args=[result.pk]), {}),
        "thread update": (reverse("comment_updates", args=[result.pk]), {"seq": -1}),
        "notifications": (reverse("notification_list"), {}),
        "client activity": (reverse("collection_client_links", args=[collection.pk]), {}),
        "activity update": (
            reverse("collection_client_activity", args=[collection.pk]),
            {"seq": -1},
        ),
        "audit log": (reverse("review_audit"), {}),
    }
    for where, (url, query) in pages.items():
        response = member.get(url, query, **HTMX)
        assert response.status_code == 200, where
        _assert_text(response.content.decode(), where)
