"""What the gallery does when a lower app says something happened."""

from django.dispatch import receiver

from studio.audit.models import AuditEntry
from studio.audit.services import record as audit_record
from studio.teams.models import Membership
from studio.teams.signals import member_removed

from .models import ClientLink, Collection, ShareLink


@receiver(member_removed, sender=Membership)
def hand_over_shared_work(sender, membership, heir, actor, **kwargs):
    """A departing member's collections and links pass to `heir`, in the removal's
    transaction; their images stay theirs (the name on them) and the team's."""
    moved = {}
    for key, model in (
        ("collections", Collection),
        ("share_links", ShareLink),
        ("client_links", ClientLink),
    ):
        moved[key] = model.objects.filter(
            team_id=membership.team_id, created_by_id=membership.user_id
        ).update(created_by_id=heir.user_id)
    audit_record(
        team_id=membership.team_id,
        actor=actor,
        action=AuditEntry.Action.HANDOVER,
        target=membership,
        before={"owner": membership.user.get_username()},
        after={"handed_to": heir.user.get_username(), **moved},
    )
