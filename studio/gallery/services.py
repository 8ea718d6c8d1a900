"""What people do in the gallery: favourites, collections, share links.

Keyword-only, one transaction each. Permissions are checked here, from the
person's membership: viewers may keep favourites (they are personal) but not
change what the team shares; deleting a collection or revoking someone
else's link is for its creator, or an admin or owner.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.generations.models import Result
from studio.teams.models import Membership

from .models import Collection, CollectionItem, Favourite, ShareLink


class GalleryRuleError(Exception):
    """Refused by a rule of the gallery; str(exc) says why, for a person."""


def _require_organiser(membership: Membership) -> None:
    if not membership.can_organise:
        raise PermissionDenied("Viewers cannot change the team's collections or share links.")


def _same_team(membership: Membership, *objects) -> None:
    # Selectors already scope every lookup; this keeps a wrong call from linking two teams.
    if any(obj.team_id != membership.team_id for obj in objects):
        raise PermissionDenied("That belongs to another team.")


def _is_creator_or_admin(membership: Membership, created_by_id) -> bool:
    return membership.can_manage_members or created_by_id == membership.user_id


# --- favourites -----------------------------------------------------------------------------


@transaction.atomic
def favourite_toggle(*, membership: Membership, result: Result) -> bool:
    """Mark or unmark `result` as one of this person's favourites; returns the new state."""
    _same_team(membership, result)
    deleted, _ = Favourite.objects.filter(user_id=membership.user_id, result=result).delete()
    if deleted:
        return False
    Favourite.objects.create(team_id=result.team_id, user_id=membership.user_id, result=result)
    return True


# --- collections ----------------------------------------------------------------------------


def _name_taken(team_id: int, name: str, exclude_pk=None) -> bool:
    others = Collection.objects.filter(team_id=team_id, name__iexact=name)
    return others.exclude(pk=exclude_pk).exists()


@transaction.atomic
def collection_create(
    *, membership: Membership, name: str, result: Result | None = None
) -> Collection:
    """A new collection; with `result`, that image is its first."""
    _require_organiser(membership)
    name = name.strip()
    if not name:
        raise GalleryRuleError("Give the collection a name.")
    if _name_taken(membership.team_id, name):
        raise GalleryRuleError(f"There is already a collection called “{name}”.")
    try:
        with transaction.atomic():
            collection = Collection.objects.create(
                team_id=membership.team_id, name=name, created_by_id=membership.user_id
            )
    except IntegrityError:  # the same name, created at the same moment
        raise GalleryRuleError(f"There is already a collection called “{name}”.") from None
    if result is not None:
        collection_add(membership=membership, collection=collection, result=result)
    return collection


@transaction.atomic
def collection_rename(*, membership: Membership, collection: Collection, name: str) -> Collection:
    _require_organiser(membership)
    _same_team(membership, collection)
    name = name.strip()
    if not name:
        raise GalleryRuleError("Give the collection a name.")
    if _name_taken(membership.team_id, name, exclude_pk=collection.pk):
        raise GalleryRuleError(f"There is already a collection called “{name}”.")
    collection.name = name
    collection.save(update_fields=["name", "updated_at"])
    return collection


@transaction.atomic
def collection_delete(*, membership: Membership, collection: Collection) -> None:
    """The collection goes; its images stay in the gallery. Share links to it stop working."""
    _require_organiser(membership)
    _same_team(membership, collection)
    if not _is_creator_or_admin(membership, collection.created_by_id):
        raise PermissionDenied("Only whoever made this collection, or an admin, can delete it.")
    collection.delete()


@transaction.atomic
def collection_add(*, membership: Membership, collection: Collection, result: Result) -> bool:
    """Add `result`; returns False when it was already there."""
    _require_organiser(membership)
    _same_team(membership, collection, result)
    _, created = CollectionItem.objects.get_or_create(
        collection=collection, result=result, defaults={"added_by_id": membership.user_id}
    )
    if created:
        Collection.objects.filter(pk=collection.pk).update(updated_at=timezone.now())
    return created


@transaction.atomic
def collection_remove(*, membership: Membership, collection: Collection, result: Result) -> bool:
    _require_organiser(membership)
    _same_team(membership, collection, result)
    deleted, _ = CollectionItem.objects.filter(collection=collection, result=result).delete()
    if deleted:
        Collection.objects.filter(pk=collection.pk).update(updated_at=timezone.now())
    return bool(deleted)


@transaction.atomic
def collection_set_cover(*, membership: Membership, collection: Collection, result: Result) -> None:
    _require_organiser(membership)
    _same_team(membership, collection, result)
    if not CollectionItem.objects.filter(collection=collection, result=result).exists():
        raise GalleryRuleError("Only an image in the collection can be its cover.")
    Collection.objects.filter(pk=collection.pk).update(cover=result, updated_at=timezone.now())


# --- share links ----------------------------------------------------------------------------


@transaction.atomic
def share_link_create(
    *,
    membership: Membership,
    collection: Collection | None = None,
    result: Result | None = None,
    lifetime: timedelta | None = None,
) -> ShareLink:
    """A read-only link to a collection or one result; `lifetime` None: until revoked."""
    _require_organiser(membership)
    if (collection is None) == (result is None):
        raise ValueError("A share link is for one collection or one result.")
    target = collection or result
    _same_team(membership, target)
    if lifetime is not None and lifetime <= timedelta(0):
        raise GalleryRuleError("A link must be valid for some time.")
    return ShareLink.objects.create(
        team_id=membership.team_id,
        collection=collection,
        result=result,
        created_by_id=membership.user_id,
        expires_at=timezone.now() + lifetime if lifetime else None,
    )


@transaction.atomic
def share_link_revoke(*, membership: Membership, link: ShareLink) -> None:
    """Stops the link at once: its page and its media answer 404 from the next request."""
    _same_team(membership, link)
    if not membership.can_organise or not _is_creator_or_admin(membership, link.created_by_id):
        raise PermissionDenied("Only whoever made this link, or an admin, can revoke it.")
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
