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


# --- client links (proofing) ------------------------------------------------------------------


class ClientLinkQuerySet(TeamScopedQuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ClientLink(models.Model):
    """A collection shown to a client with no account, who picks, approves and comments.

    Unlike a share link it always expires, may need a password (stored hashed),
    can keep the originals back, and can stamp "PROOF" on the previews.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="client_links")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    collection = models.ForeignKey(
        Collection, on_delete=models.CASCADE, related_name="client_links"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    password_hash = models.CharField(max_length=128, blank=True)
    allow_downloads = models.BooleanField(default=False)
    proof_overlay = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ClientLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["team", "collection"], name="client_link_collection")]

    def __str__(self):
        return f"client link to {self.collection}"

    @property
    def audit_label(self) -> str:
        return f"Client link to collection “{self.collection.name}”"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)


class ClientPick(models.Model):
    """What one client said about one image of a link: favourite, verdict, comment."""

    class Verdict(models.TextChoices):
        NONE = "", "No answer yet"
        APPROVED = "approved", "Approved"
        CHANGES = "changes", "Changes asked"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    link = models.ForeignKey(ClientLink, on_delete=models.CASCADE, related_name="picks")
    # The visitor: a random key kept in their session, and the name they gave.
    client_key = models.CharField(max_length=64)
    client_name = models.CharField(max_length=100)
    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="client_picks")
    favourite = models.BooleanField(default=False)
    verdict = models.CharField(max_length=10, choices=Verdict.choices, blank=True, default="")
    comment = models.TextField(blank=True, max_length=2000)
    updated_at = models.DateTimeField(auto_now=True)
    # Team.change_seq at the latest change: the collection page's poll asks about it.
    seq = models.BigIntegerField(default=0)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["link", "client_key", "result"], name="one_pick_per_client_result"
            )
        ]
        indexes = [models.Index(fields=["link", "seq"], name="client_pick_link_seq")]

    def __str__(self):
        return f"{self.client_name} on result {self.result_id}"

    @property
    def audit_label(self) -> str:
        return f"{self.result.audit_label} on a client link"
