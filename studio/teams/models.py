import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

from studio import live

from .scoping import TeamScopedQuerySet


def new_token() -> str:
    """Unguessable: 256 bits from the OS's CSPRNG, URL-safe."""
    return secrets.token_urlsafe(32)


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

    @property
    def audit_label(self) -> str:
        """How a person recognises it in the audit log."""
        return f"Team {self.name}"

    def next_change_seq(self) -> int:
        """Reserve the next change number; call inside the writing transaction."""
        Team.objects.filter(pk=self.pk).update(change_seq=F("change_seq") + 1)
        seq = Team.objects.values_list("change_seq", flat=True).get(pk=self.pk)
        # Every change to what a team's pages show passes here: push it once committed.
        live.publish_on_commit(self.pk, "change", {"seq": seq})
        return seq


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# What each role may do, highest first. The rules that compare two people
# (admins cannot touch owners) are in Membership.can_manage.
RANK = {Role.OWNER: 3, Role.ADMIN: 2, Role.MEMBER: 1, Role.VIEWER: 0}
ROLE_HELP = {
    Role.OWNER: "Everything, including ownership and other owners.",
    Role.ADMIN: "Invites, removes and changes the role of anyone but owners.",
    Role.MEMBER: "Generates, organises collections and shares links.",
    Role.VIEWER: "Sees the gallery and downloads; cannot generate or change anything shared.",
}


class Membership(models.Model):
    Role = Role

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # Set by an admin beside the team's quota; checked with it when work is saved.
    monthly_image_limit = models.PositiveIntegerField(
        "monthly image limit",
        null=True,
        blank=True,
        help_text="Images this member may request per calendar month. Empty: no limit of "
        "their own (the team's quota still applies).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def audit_label(self) -> str:
        return f"{self.user.get_username()} in {self.team.name}"

    @property
    def can_generate(self) -> bool:
        return self.role != Role.VIEWER

    @property
    def can_organise(self) -> bool:
        """Collections and share links: shared things, so not for viewers."""
        return self.role != Role.VIEWER

    @property
    def can_manage_members(self) -> bool:
        return RANK[self.role] >= RANK[Role.ADMIN]

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    def can_manage(self, other: "Membership") -> bool:
        """Whether this person may remove `other` or change their role."""
        if not self.can_manage_members or other.team_id != self.team_id:
            return False
        return self.is_owner or other.role != Role.OWNER

    def grantable_roles(self) -> list[str]:
        """Roles this person may give: owners any, admins up to admin."""
        if self.is_owner:
            return [r.value for r in Role]
        if self.can_manage_members:
            return [Role.ADMIN, Role.MEMBER, Role.VIEWER]
        return []


class InvitationQuerySet(TeamScopedQuerySet):
    def pending(self):
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """A single-use link that makes whoever opens it (signed in) a member with `role`."""

    INVITABLE_ROLES = [(r.value, r.label) for r in (Role.ADMIN, Role.MEMBER, Role.VIEWER)]
    DEFAULT_LIFETIME = timedelta(days=7)

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    role = models.CharField(max_length=10, choices=INVITABLE_ROLES, default=Role.MEMBER)
    # Where the link was sent, if by email; the link itself is what grants access.
    email = models.EmailField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="accepted_invitations",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["team", "-created_at"], name="invitation_team_newest")]

    def __str__(self):
        return f"invitation to {self.team} as {self.role}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"


class TeamPolicy(models.Model):
    """A team's review and spending rules. No row means the defaults below.

    Set on the review pages and in the admin (review app); read by the
    generations app, which applies them (the quota, who sees which result).
    """

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="review_policy")
    require_approval = models.BooleanField(
        "require approval",
        default=False,
        help_text="Members and viewers see a result only once an admin or owner approved it.",
    )
    monthly_image_quota = models.PositiveIntegerField(
        "monthly image quota",
        null=True,
        blank=True,
        help_text="Images the team may request per calendar month. Empty: unlimited.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The table it had in the review app, kept when the model moved here.
        db_table = "review_teampolicy"
        verbose_name = "team policy"
        verbose_name_plural = "team policies"

    def __str__(self):
        return f"policy of {self.team}"

    @property
    def audit_label(self) -> str:
        """How a person recognises it in the audit log."""
        return f"Team {self.team.name}"

    @property
    def has_quota(self) -> bool:
        return self.monthly_image_quota is not None

