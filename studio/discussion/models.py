"""Talking about images: comments (with @mentions), star ratings, and the
notifications that tell a member something concerns them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from studio.generations.models import Result
from studio.teams.models import Team
from studio.teams.scoping import TeamScopedQuerySet


class CommentQuerySet(TeamScopedQuerySet):
    def shown(self):
        return self.filter(removed_at__isnull=True)


class Comment(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The name as it was: a comment outlives its author's account.
    author_name = models.CharField(max_length=150)
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Removed comments stay as rows, so open viewers see the removal as a change.
    removed_at = models.DateTimeField(null=True, blank=True)
    # Team.change_seq at the latest change: what the viewer's poll asks about.
    seq = models.BigIntegerField(default=0)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["result", "created_at"], name="comment_result_oldest"),
            models.Index(fields=["result", "seq"], name="comment_result_seq"),
        ]

    def __str__(self):
        return f"comment by {self.author_name} on result {self.result_id}"


class Rating(models.Model):
    STARS = range(1, 6)

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings"
    )
    stars = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "result"], name="one_rating_per_member"),
            models.CheckConstraint(
                condition=Q(stars__gte=1) & Q(stars__lte=5), name="rating_1_to_5"
            ),
        ]
        # "My rating" in the gallery walks one person's ratings in a team, best first.
        indexes = [models.Index(fields=["user", "team", "-stars"], name="rating_user_team_stars")]

    def __str__(self):
        return f"{self.user} gives result {self.result_id} {self.stars} stars"


class Kind(models.TextChoices):
    MENTION = "mention", "Someone mentions you"
    COMMENT = "comment", "Someone comments on your image"
    REVIEW = "review", "Your image is approved or rejected"
    BATCH = "batch", "Your generation finishes after you left the studio"
    CLIENT = "client", "A client picks or comments on a link you made"


class NotificationQuerySet(TeamScopedQuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    Kind = Kind

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.CharField(max_length=500)
    # Where it points: a page of the studio (a path, never another site).
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "team", "read_at"], name="notification_unread"),
            models.Index(fields=["user", "team", "-created_at"], name="notification_newest"),
            models.Index(fields=["user", "emailed_at"], name="notification_digest"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.user}"


class NotificationSettings(models.Model):
    """A person's choices; no row means every kind on and no email."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    muted = models.JSONField(default=list, blank=True)  # kinds turned off
    daily_digest = models.BooleanField(default=False)
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"notification settings of {self.user}"

    def wants(self, kind: str) -> bool:
        return kind not in self.muted
