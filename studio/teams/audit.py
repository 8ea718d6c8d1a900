"""Who changed whose membership, in the team's audit log (studio.review).

Kept in one function so the teams services do not depend on how the audit
log stores things.
"""

from __future__ import annotations


def record(*, team_id: int, actor, action: str, membership, before: dict, after: dict) -> None:
    try:
        from studio.review.services import audit_record
    except ImportError:  # the review app's audit service is not there yet
        return
    audit_record(
        team_id=team_id,
        actor=actor,
        action=action,
        target=membership,
        before=before,
        after=after,
    )
