"""Who changed whose membership, in the team's audit log (studio.review)."""

from __future__ import annotations


def record(*, team_id: int, actor, action: str, membership, before: dict, after: dict) -> None:
    # Imported here: the review app's models import the teams app's.
    from studio.review.services import audit_record

    audit_record(
        team_id=team_id,
        actor=actor,
        action=action,
        target=membership,
        before=before,
        after=after,
    )
