"""The audit log: who did what, when, to what, before and after.

A leaf: it imports no other app of Studio. Team and actor are referenced by
name, and each app passes its own action and target (see services.record).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnly(Exception):
    """Raised on any attempt to change or delete an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    # Bulk writes skip save()/delete(): refuse them here as well.
    def update(self, **kwargs):
        raise AppendOnly("Audit entries cannot be changed.")

    def delete(self):
        raise AppendOnly("Audit entries cannot be deleted.")

    def for_team(self, team):
        return self.filter(team=team)


class AuditEntry(models.Model):
    """One thing someone did: who, what, when, to what, and the values before and after.

    Append-only: existing rows refuse save() and delete(), the queryset refuses
    bulk update and delete, and the admin is read-only. Team and actor are kept
    as plain ids (no database constraint, nothing cascades), so the record
    outlives a deleted user or team; `actor_label` keeps the name as it was.
    """

    class Action(models.TextChoices):
        APPROVE = "review.approve", "Approved an image"
        REJECT = "review.reject", "Rejected an image"
        ROLE_CHANGE = "member.role", "Changed a member's role"
        MEMBER_ADD = "member.add", "Added a member"
        MEMBER_REMOVE = "member.remove", "Removed a member"
        MEMBER_LIMIT = "member.limit", "Set a member's monthly image limit"
        QUOTA_CHANGE = "policy.quota", "Changed the monthly image quota"
        APPROVAL_CHANGE = "policy.approval", "Changed “Require approval”"
        CANCEL = "generation.cancel", "Cancelled a generation"
        REINGEST = "generation.reingest", "Re-ran ingest of a generation"
        DELETE = "generation.delete", "Moved a generation to the Trash"
        RESTORE = "generation.restore", "Restored a generation from the Trash"
        PURGE = "generation.purge", "Purged a generation from the Trash"
        RESULT_DELETE = "result.delete", "Moved an image to the Trash"
        RESULT_RESTORE = "result.restore", "Restored an image from the Trash"
        RESULT_PURGE = "result.purge", "Purged an image from the Trash"
        HANDOVER = "member.handover", "Handed a departing member's work over"
        CLIENT_LINK_CREATE = "client_link.create", "Made a client link"
        CLIENT_LINK_REVOKE = "client_link.revoke", "Revoked a client link"
        CLIENT_VISIT = "client.visit", "A client opened a link"
        CLIENT_PICK = "client.pick", "A client picked, approved or commented"

    class Via(models.TextChoices):
        STUDIO = "studio", "Studio"
        ADMIN = "admin", "Django admin"

    team = models.ForeignKey(
        "teams.Team",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField("who", max_length=150)
    action = models.CharField(max_length=30, choices=Action.choices)
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.STUDIO)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=40)
    target_label = models.CharField("target", max_length=200)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField("when", default=timezone.now, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["team", "-created_at"], name="audit_team_newest"),
            models.Index(fields=["team", "actor", "-created_at"], name="audit_team_actor"),
            models.Index(fields=["team", "action", "-created_at"], name="audit_team_action"),
        ]

    def __str__(self):
        return f"{self.actor_label}: {self.get_action_display()} ({self.target_label})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("Audit entries cannot be changed.")
        # Never an UPDATE, even for an instance given the pk of an existing row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("Audit entries cannot be deleted.")

    FIELD_LABELS = {
        "review_state": "State",
        "review_reason": "Reason",
        "monthly_image_quota": "Quota",
        "require_approval": "Require approval",
        "approved_existing": "Images approved with it",
        "missing_images": "Images to fetch again",
        "handed_to": "Handed to",
        "collections": "Collections",
        "share_links": "Share links",
        "client_links": "Client links",
        "sessions_ended": "Sessions ended",
    }

    def changes(self) -> list[tuple[str, str | None, str | None]]:
        """(label, before, after) as text, for every value that changed.

        A side is None when the key is absent there (a member added: no
        "before"); an empty value reads "—".
        """
        rows = []
        for key in dict.fromkeys([*self.before, *self.after]):
            old, new = self.before.get(key, ...), self.after.get(key, ...)
            if old == new:
                continue
            label = self.FIELD_LABELS.get(key, key.replace("_", " ").capitalize())
            rows.append((label, _as_text(old), _as_text(new)))
        return rows


def _as_text(value) -> str | None:
    if value is ...:
        return None
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
