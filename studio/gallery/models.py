"""What a team does with its results: favourites (per person), collections
(boards, shared by the team) and share links (read-only, for people outside)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from studio.generations.models import Result
from studio.teams.models import Team, new_token
from studio.teams.scoping import TeamScopedQuerySet


class Favourite(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "result"], name="one_favourite_per_result")
        ]

    def __str__(self):
        return f"{self.user} likes result {self.result_id}"


class Collection(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Chosen by a person; when empty (or no longer in the collection) the most
    # recently added image is the cover.
    cover = models.ForeignKey(
        Result, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    results = models.ManyToManyField(Result, through="CollectionItem", related_name="collections")

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="one_collection_name_per_team")
        ]

    def __str__(self):
        return self.name


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="collection_items")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "result"], name="one_item_per_collection_result"
            )
        ]
        indexes = [models.Index(fields=["result"], name="collection_item_result")]

    def __str__(self):
        return f"result {self.result_id} in collection {self.collection_id}"


class ShareLinkQuerySet(TeamScopedQuerySet):
    def active(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class ShareLink(models.Model):
    """A read-only link to one collection or one result, for anyone who has it."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="share_links")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    collection = models.ForeignKey(
        Collection, null=True, blank=True, on_delete=models.CASCADE, related_name="share_links"
    )
    result = models.ForeignKey(
        Result, null=True, blank=True, on_delete=models.CASCADE, related_name="share_links"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(collection__isnull=False) & Q(result__isnull=True))
                | (Q(collection__isnull=True) & Q(result__isnull=False)),
                name="share_link_one_target",
            )
        ]
        indexes = [models.Index(fields=["team", "-created_at"], name="share_link_team_newest")]

    def __str__(self):
        return f"share link to {self.target_label}"

    @property
    def target_label(self) -> str:
        if self.collection_id:
            return f"collection “{self.collection.name}”"
        return f"image {self.result.position + 1} of generation {self.result.generation_id}"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    @property
    def is_active(self) -> bool:
        return self.status == "active"
