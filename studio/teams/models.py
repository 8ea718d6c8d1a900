from django.conf import settings
from django.db import models
from django.db.models import F


class Team(models.Model):
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped in the same transaction as every change to the team's generations.
    # The row lock it takes orders commits, so "changes after N" is exact and a
    # no-change check is one primary-key read, whatever the gallery's size.
    change_seq = models.BigIntegerField(default=0)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    def __str__(self):
        return self.name

    def next_change_seq(self) -> int:
        """Reserve the next change number; call inside the writing transaction."""
        Team.objects.filter(pk=self.pk).update(change_seq=F("change_seq") + 1)
        return Team.objects.values_list("change_seq", flat=True).get(pk=self.pk)


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_generate(self) -> bool:
        return self.role != self.Role.VIEWER
