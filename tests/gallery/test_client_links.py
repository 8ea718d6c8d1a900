"""Client links (proofing): made by the team, opened by a client with no account."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from studio.audit.models import AuditEntry
from studio.discussion.models import Notification
from studio.gallery.models import ClientLink, ClientPick
from studio.gallery.proofing import MAX_TRIES
from studio.teams.models import Role
from tests.fixtures.factories import make_member, make_user
from tests.gallery.factories import make_collection, make_results, sign_in

HTMX = {"HTTP_HX_REQUEST": "true"}
XSS = '<img src=x onerror="window.__x=1">Zoë'


@pytest.fixture
def board(db):
    owner = make_user("olga")
    team = owner.teams.get()
    results = make_results(team, owner, 4)
    collection = make_collection(team, owner, "Spring campaign", results=results[:3])
    return team, owner, collection, results


def _create(client, collection, **data):
    day = (timezone.now() + timedelta(days=3)).date().isoformat()
    form = {"expires_on": day, "password": "", "proof_overlay": "on", **data}
    return client.post(reverse("collection_client_links", args=[collection.pk]), form, **HTMX)


@pytest.mark.parametrize(
    ("role", "create", "revoke_others"),
    [
        (Role.OWNER, 200, 200),
        (Role.ADMIN, 200, 200),
        (Role.MEMBER, 200, 403),
        (Role.VIEWER, 403, 403),
    ],
)
def test_who_makes_and_revokes_client_links(client, board, role, create, revoke_others):
    team, owner, collection, _ = board
    person = owner if role == Role.OWNER else make_member(team, role)
    theirs = ClientLink.objects.create(
        team=team,
        collection=collection,
        created_by=make_user("other"),
        expires_at=timezone.now() + timedelta(days=1),
    )
    sign_in(client, person, team)

    assert _create(client, collection, password="s3cret").status_code == create
    revoked = client.post(reverse("client_link_revoke", args=[theirs.pk]), **HTMX)

    assert revoked.status_code == revoke_others
    assert ClientLink.objects.filter(created_by=person).exists() == (create == 200)
    if create == 200:
        mine = ClientLink.objects.get(created_by=person)
        assert mine.password_hash != "s3cret" and check_password("s3cret", mine.password_hash)
        assert client.post(reverse("client_link_revoke", args=[mine.pk]), **HTMX).status_code == 200
        mine.refresh_from_db()
        assert mine.revoked_at is not None
        assert AuditEntry.objects.filter(
            action="client_link.revoke", target_id=str(mine.pk)
        ).exists()


def _link(team, owner, collection, **fields):
    fields.setdefault("expires_at", timezone.now() + timedelta(days=2))
    return ClientLink.objects.create(team=team, collection=collection, created_by=owner, **fields)


def _enter(visitor: Client, link, name="Zoë"):
    return visitor.post(reverse("client_name", args=[link.token]), {"name": name})


def test_the_client_gives_a_password_then_a_name_and_answers(board):
    team, owner, collection, results = board
    from django.contrib.auth.hashers import make_password

    link = _link(team, owner, collection, password_hash=make_password("open sesame"))
    visitor = Client()
    page = reverse("client_link", args=[link.token])

    assert "Enter the password" in visitor.get(page).content.decode()
    media = reverse("client_media", args=[link.token, results[0].pk, "preview"])
    assert visitor.get(media).status_code == 404  # nothing before the password
    wrong = visitor.post(reverse("client_unlock", args=[link.token]), {"password": "nope"})
    assert "not right" in wrong.content.decode()
    assert _enter(visitor, link).status_code == 302  # the name is refused before the password
    assert not AuditEntry.objects.filter(action="client.visit").exists()
    right = visitor.post(reverse("client_unlock", args=[link.token]), {"password": "open sesame"})
    assert right.status_code == 302
    assert "Your name" in visitor.get(page).content.decode()
    _enter(visitor, link, XSS)

    html = visitor.get(page).content.decode()
    assert html.count('<article class="client-card') == 3  # the collection's three, not the fourth
    pick = reverse("client_pick", args=[link.token, results[1].pk])
    assert visitor.post(pick, {"action": "favourite"}, **HTMX).status_code == 200
    visitor.post(pick, {"action": "changes"}, **HTMX)
    visitor.post(pick, {"action": "comment", "comment": "Warmer, <b>please</b>"}, **HTMX)
    outside = reverse("client_pick", args=[link.token, results[3].pk])
    assert visitor.post(outside, {"action": "favourite"}, **HTMX).status_code == 404

    answer = ClientPick.objects.get()
    assert (answer.favourite, answer.verdict, answer.comment) == (
        True,
        "changes",
        "Warmer, <b>please</b>",
    )
    actions = list(AuditEntry.objects.filter(team_id=team.pk).values_list("action", "actor_label"))
    assert ("client.visit", f"Client: {XSS}") in actions
    assert actions.count(("client.pick", f"Client: {XSS}")) == 3
    assert Notification.objects.filter(user=owner, kind="client").count() == 3

    # The team sees it, escaped, on the collection page's panel.
    team_view = Client()
    sign_in(team_view, owner, team)
    panel = team_view.get(reverse("collection_client_links", args=[collection.pk]), **HTMX)
    text = panel.content.decode()
    assert "&lt;img src=x onerror" in text and "<img src=x" not in text
    assert "Warmer, &lt;b&gt;please&lt;/b&gt;" in text
    notes = team_view.get(reverse("notification_list")).content.decode()
    assert "Client &lt;img src=x" in notes and "<img src=x" not in notes


def test_wrong_passwords_are_throttled(board):
    team, owner, collection, _ = board
    from django.contrib.auth.hashers import make_password

    link = _link(team, owner, collection, password_hash=make_password("right"))
    visitor = Client()
    unlock = reverse("client_unlock", args=[link.token])
    for _ in range(MAX_TRIES):
        assert visitor.post(unlock, {"password": "wrong"}).status_code == 200

    locked = visitor.post(unlock, {"password": "right"})  # even the right one, for a while
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.content.decode()


def test_previews_carry_the_proof_stamp_and_originals_follow_the_setting(board):
    team, owner, collection, results = board
    stamped = _link(team, owner, collection, proof_overlay=True)
    plain = _link(team, owner, collection, proof_overlay=False, allow_downloads=True)
    visitor = Client()

    def get(link, kind):
        return visitor.get(reverse("client_media", args=[link.token, results[0].pk, kind]))

    with results[0].thumbnail.open("rb") as f:
        thumbnail = f.read()
    proof = get(stamped, "preview").content  # drawn on the server, not a file
    assert (
        proof != thumbnail
        and Image.open(io.BytesIO(proof)).size == Image.open(io.BytesIO(thumbnail)).size
    )
    assert b"".join(get(plain, "preview").streaming_content) == thumbnail
    assert get(stamped, "original").status_code == 404  # downloads off
    response = get(plain, "original")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]


def test_an_expired_or_revoked_link_says_so_and_its_media_are_404(board):
    team, owner, collection, results = board
    link = _link(team, owner, collection)
    visitor = Client()
    _enter(visitor, link)
    media = reverse("client_media", args=[link.token, results[0].pk, "preview"])
    assert visitor.get(media).status_code == 200

    ClientLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    page = visitor.get(reverse("client_link", args=[link.token]))
    assert page.status_code == 410 and "This link has expired" in page.content.decode()
    assert "Spring campaign" not in page.content.decode()
    assert visitor.get(media).status_code == 404
    pick = reverse("client_pick", args=[link.token, results[0].pk])
    assert visitor.post(pick, {"action": "favourite"}).status_code == 410

    ClientLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() + timedelta(days=1), revoked_at=timezone.now()
    )
    assert "was revoked" in visitor.get(reverse("client_link", args=[link.token])).content.decode()
    assert visitor.get(media).status_code == 404
    assert Client().get(reverse("client_link", args=["no-such-token"])).status_code == 404


def test_the_collection_page_sees_answers_through_its_poll(board):
    team, owner, collection, results = board
    link = _link(team, owner, collection)
    member = Client()
    sign_in(member, owner, team)
    team.refresh_from_db()
    seq = team.change_seq
    poll = reverse("collection_client_activity", args=[collection.pk])
    assert member.get(poll, {"seq": seq}, **HTMX).status_code == 204

    visitor = Client()
    _enter(visitor, link, "Ann")
    visitor.post(reverse("client_pick", args=[link.token, results[2].pk]), {"action": "approve"})

    html = member.get(poll, {"seq": seq}, **HTMX).content.decode()
    assert "<strong>Ann</strong> approved" in html and 'hx-swap-oob="true"' in html
