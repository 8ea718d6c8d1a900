"""The monthly image quota: an atomic check-and-reserve when a generation is saved.

Nothing is stored as "reserved": usage is computed from the generations
themselves. A generation counts from the moment it is saved, unless it ended
failed or cancelled without ever reaching VideoGen (no remote execution id),
so a refusal before the POST gives its images back with no bookkeeping, and
no crash can leak a reservation.

Atomicity: the check runs inside the transaction that saves the generation,
after locking the team's policy row (SELECT ... FOR UPDATE on PostgreSQL). On
SQLite, Studio opens every transaction with BEGIN IMMEDIATE, which already
lets one writer in at a time. Either way, two submitters cannot both see the
same images left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from studio.teams.models import TeamPolicy

from .models import Generation, Status


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def current(cls) -> Month:
        now = timezone.localtime()
        return cls(now.year, now.month)

    @classmethod
    def parse(cls, value: str) -> Month | None:
        """'2026-11' as an <input type=month> sends it; None if malformed."""
        try:
            year, month = (int(part) for part in value.split("-"))
        except (ValueError, AttributeError):
            return None
        return cls(year, month) if 1 <= month <= 12 and 2000 <= year <= 9999 else None

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime(self.year, self.month, 1))

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def end(self) -> datetime:
        return self.next.start

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def counts_against_quota() -> Q:
    """Generations whose images count: all but those refused before reaching VideoGen."""
    never_submitted = Q(status__in=(Status.FAILED, Status.CANCELLED)) & Q(
        remote_execution_id__isnull=True
    )
    return ~never_submitted


def images_used(*, team_id: int, month: Month) -> int:
    return (
        Generation.objects.filter(
            team_id=team_id, created_at__gte=month.start, created_at__lt=month.end
        )
        .filter(counts_against_quota())
        .aggregate(total=Sum("num_results"))["total"]
        or 0
    )


class QuotaExceeded(ValueError):
    """A request for more images than the team has left this month.

    A ValueError, as the studio's other refusals of a request are, so every
    view that starts work already turns it into a message for the person.
    """

    def __init__(self, *, needed: int, left: int, quota: int, renews: date):
        self.needed, self.left, self.quota, self.renews = needed, left, quota, renews
        images = "image" if needed == 1 else "images"
        if left:
            what = f"only {left} of the team's {quota} this month {'is' if left == 1 else 'are'}"
        else:
            what = f"none of the team's {quota} this month are"
        super().__init__(
            f"This needs {needed} {images} but {what} left. "
            f"The quota renews on {renews.day} {renews:%B}."
        )


def reserve_images(*, team_id: int, images: int) -> None:
    """Check that `images` more fit this month's quota, holding the policy lock.

    Call inside the transaction that saves the generation: the saved row is
    the reservation, and the lock is held until that transaction ends.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reserve_images must run inside the transaction that saves the work")
    policy = TeamPolicy.objects.select_for_update().filter(team_id=team_id).first()
    if policy is None or policy.monthly_image_quota is None:
        return
    month = Month.current()
    left = max(policy.monthly_image_quota - images_used(team_id=team_id, month=month), 0)
    if images > left:
        raise QuotaExceeded(
            needed=images,
            left=left,
            quota=policy.monthly_image_quota,
            renews=month.next.first_day,
        )
