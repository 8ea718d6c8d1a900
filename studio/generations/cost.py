"""What a request will take, shown before Generate: images against the team's
(and the member's) monthly allowance, and money when a price is set."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from studio.teams.models import Membership, TeamPolicy

from .quota import Month, images_used


@dataclass(frozen=True)
class Cost:
    images: int
    team_quota: int | None
    team_left: int | None
    member_quota: int | None
    member_left: int | None
    price: Decimal | None
    currency: str

    @property
    def money(self) -> Decimal | None:
        return None if self.price is None else self.price * self.images

    @property
    def fits(self) -> bool:
        return all(
            left is None or self.images <= left for left in (self.team_left, self.member_left)
        )


def member_quota(*, team_id: int, user_id: int) -> int | None:
    """The member's own monthly limit, set by an admin beside the team's quota (None: none)."""
    return (
        Membership.objects.filter(team_id=team_id, user_id=user_id)
        .values_list("monthly_image_limit", flat=True)
        .first()
    )


def cost_of(*, team_id: int, user_id: int, images: int) -> Cost:
    month = Month.current()
    quota = (
        TeamPolicy.objects.filter(team_id=team_id)
        .values_list("monthly_image_quota", flat=True)
        .first()
    )
    team_left = None
    if quota is not None:
        team_left = max(quota - images_used(team_id=team_id, month=month), 0)
    mine = member_quota(team_id=team_id, user_id=user_id)
    member_left = None
    if mine is not None:
        used = images_used(team_id=team_id, month=month, user_id=user_id)
        member_left = max(mine - used, 0)
    return Cost(
        images=images,
        team_quota=quota,
        team_left=team_left,
        member_quota=mine,
        member_left=member_left,
        price=settings.STUDIO_PRICE_PER_IMAGE,
        currency=settings.STUDIO_CURRENCY,
    )


def spend(images: int) -> Decimal | None:
    """What `images` cost at the configured price (None: no price set)."""
    price = settings.STUDIO_PRICE_PER_IMAGE
    return None if price is None else price * images
