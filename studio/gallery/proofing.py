"""Client links (proofing): the rules and reads behind them.

A client link shows one collection to someone with no account. It always
expires; it may need a password (hashed like account passwords, wrong tries
throttled per link and address); the client gives a name, then picks
favourites, approves or asks for changes per image, and comments. Every visit
and every pick goes into the team's audit log, and the link's maker is
notified. Picks bump the team's change counter, so the collection page shows
them live through its poll.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from studio.audit.models import AuditEntry
from studio.audit.services import record as audit_record
from studio.discussion.models import Kind
from studio.discussion.services import notify
from studio.generations.models import Result
from studio.generations.visibility import may_see_result
from studio.teams.models import Membership, Team
from studio.teams.scoping import for_team, get_for_team_or_404

from . import selectors
from .models import ClientLink, ClientPick, Collection, CollectionItem
from .services import GalleryRuleError, _is_creator_or_admin, _require_organiser, _same_team

Action = AuditEntry.Action
MAX_TRIES = 5  # wrong passwords per link and address...
PER_LINK_TRIES = 50  # ...and per link from anywhere...
TRY_WINDOW = 15 * 60  # ...within this many seconds
CLIENT_LINK_IMAGES = 200
ACTIVITY_SHOWN = 100


# --- the team's side --------------------------------------------------------------------------


@transaction.atomic
def client_link_create(
    *,
    membership: Membership,
    collection: Collection,
    expires_at: datetime,
    password: str = "",
    allow_downloads: bool = False,
    proof_overlay: bool = True,
) -> ClientLink:
    _require_organiser(membership)
    _same_team(membership, collection)
    if expires_at <= timezone.now():
        raise GalleryRuleError("Choose an expiry date in the future.")
    link = ClientLink.objects.create(
        team_id=membership.team_id,
        collection=collection,
        created_by_id=membership.user_id,
        expires_at=expires_at,
        password_hash=make_password(password) if password else "",
        allow_downloads=allow_downloads,
        proof_overlay=proof_overlay,
    )
    audit_record(
        team_id=link.team_id,
        actor=membership.user,
        action=Action.CLIENT_LINK_CREATE,
        target=link,
        before={},
        after={
            "expires": link.expires_at.isoformat(timespec="minutes"),
            "password": link.has_password,
            "downloads": allow_downloads,
            "proof_overlay": proof_overlay,
        },
    )
    return link


@transaction.atomic
def client_link_revoke(*, membership: Membership, link: ClientLink) -> None:
    """At once: its page says so and its media answer 404 from the next request."""
    _same_team(membership, link)
    if not membership.can_organise or not _is_creator_or_admin(membership, link.created_by_id):
        raise PermissionDenied("Only whoever made this link, or an admin, can revoke it.")
    if ClientLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ):
        audit_record(
            team_id=link.team_id,
            actor=membership.user,
            action=Action.CLIENT_LINK_REVOKE,
            target=link,
            before={"status": link.status},
            after={"status": "revoked"},
        )
        Team(pk=link.team_id).next_change_seq()


def client_links_of(*, team, collection: Collection) -> list[ClientLink]:
    return list(
        for_team(ClientLink, team).filter(collection=collection).select_related("created_by")
    )


def client_link_for_team(*, team, pk: int) -> ClientLink:
    return get_for_team_or_404(ClientLink.objects.select_related("collection"), team=team, pk=pk)


def activity(*, team, collection: Collection) -> list[ClientPick]:
    """What clients said on this collection's links, latest first."""
    picks = for_team(ClientPick, team).filter(link__collection=collection)
    # result__generation: each line names the image by its prompt (audit_label).
    return list(picks.select_related("result__generation", "link")[:ACTIVITY_SHOWN])


def activity_changed_since(*, team, collection: Collection, seq: int) -> bool:
    links = for_team(ClientLink, team).filter(collection=collection).values("pk")
    return ClientPick.objects.filter(link__in=links, seq__gt=seq).exists()


# --- the client's side ------------------------------------------------------------------------


def link_by_token(token: str) -> ClientLink | None:
    """Any link with this token, active or not (the token is the visitor's only key)."""
    return (
        ClientLink.objects.select_related("team", "collection", "created_by")
        .filter(token=token)
        .first()
    )


def _tries_keys(link: ClientLink, address: str) -> tuple[str, str]:
    return f"client-link-tries:{link.token}:{address}", f"client-link-tries:{link.token}"


def password_locked(*, link: ClientLink, address: str) -> bool:
    mine, everyone = _tries_keys(link, address)
    return (cache.get(mine) or 0) >= MAX_TRIES or (cache.get(everyone) or 0) >= PER_LINK_TRIES


def password_try(*, link: ClientLink, password: str, address: str) -> bool:
    """Whether `password` opens the link; a wrong one counts against the address."""
    if password_locked(link=link, address=address):
        return False
    if check_password(password, link.password_hash):
        return True
    for key in _tries_keys(link, address):
        cache.add(key, 0, TRY_WINDOW)
        cache.incr(key)
    return False


def new_client_key() -> str:
    return secrets.token_urlsafe(24)


def client_visit(*, link: ClientLink, name: str) -> None:
    audit_record(
        team_id=link.team_id,
        actor=None,
        actor_label=f"Client: {name}",
        action=Action.CLIENT_VISIT,
        target=link,
        before={},
        after={"client": name},
    )


def link_results(*, link: ClientLink) -> list[Result]:
    """The collection's images a visitor may see (what a viewer would see)."""
    page = selectors.gallery_results(
        team=link.team,
        membership=None,
        filters=selectors.Filters(collection=link.collection),
        limit=CLIENT_LINK_IMAGES,
    )
    return page.results


def link_result(*, link: ClientLink, pk: int) -> Result:
    """One image the link shows, or 404."""
    result = (
        for_team(Result, link.team_id)
        .exclude(thumbnail="")
        .select_related("generation")
        .filter(
            pk=pk,
            pk__in=CollectionItem.objects.filter(collection_id=link.collection_id).values(
                "result_id"
            ),
        )
        .first()
    )
    if result is None or not may_see_result(result=result, membership=None):
        raise Http404("No such image.")
    return result


def picks_by_result(*, link: ClientLink, client_key: str) -> dict[int, ClientPick]:
    picks = ClientPick.objects.filter(link=link, client_key=client_key)
    return {p.result_id: p for p in picks}


ACTIONS = {"favourite", "approve", "changes", "clear", "comment"}


@transaction.atomic
def client_pick(
    *,
    link: ClientLink,
    client_key: str,
    client_name: str,
    result: Result,
    action: str,
    comment: str = "",
) -> ClientPick:
    """The client's answer on one image; audited, told to the link's maker, shown live."""
    if action not in ACTIONS:
        raise GalleryRuleError("Unknown answer.")
    if not ClientLink.objects.active().filter(pk=link.pk).exists():
        raise Http404("This link has expired or was revoked.")
    pick, _ = ClientPick.objects.select_for_update().get_or_create(
        link=link,
        client_key=client_key,
        result=result,
        defaults={"team_id": link.team_id, "client_name": client_name},
    )
    before = {"favourite": pick.favourite, "verdict": pick.verdict, "comment": pick.comment}
    if action == "favourite":
        pick.favourite = not pick.favourite
    elif action == "approve":
        pick.verdict = ClientPick.Verdict.APPROVED
    elif action == "changes":
        pick.verdict = ClientPick.Verdict.CHANGES
    elif action == "clear":
        pick.verdict = ClientPick.Verdict.NONE
    else:
        comment = comment.strip()[:2000]
        if not comment:
            raise GalleryRuleError("Write a comment first.")
        pick.comment = comment
    after = {"favourite": pick.favourite, "verdict": pick.verdict, "comment": pick.comment}
    if after == before:
        return pick
    pick.client_name = client_name
    pick.seq = Team(pk=link.team_id).next_change_seq()
    pick.save()
    audit_record(
        team_id=link.team_id,
        actor=None,
        actor_label=f"Client: {client_name}",
        action=Action.CLIENT_PICK,
        target=pick,
        before=before,
        after=after,
    )
    what = {
        "favourite": "picked" if pick.favourite else "unpicked",
        "approve": "approved",
        "changes": "asked for changes to",
        "clear": "took back their answer on",
        "comment": "commented on",
    }[action]
    text = f"Client {client_name} {what} {result.audit_label.lower()} in “{link.collection.name}”"
    if action == "comment":
        text += f": “{comment[:120]}”"
    notify(
        team_id=link.team_id,
        user=link.created_by,
        kind=Kind.CLIENT,
        text=text,
        url=reverse("collection_detail", args=[link.collection_id]),
    )
    return pick
