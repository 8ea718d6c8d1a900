"""The daily email digest of notifications (beat schedules it; see studio/celery.py)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .models import Notification, NotificationSettings

log = logging.getLogger(__name__)
LOCK = "discussion:digest-lock"


@shared_task(name="discussion.send_notification_digests")
def send_notification_digests() -> int:
    """One email per person who asked for it, with what they have not been emailed yet.

    Idempotent: each notification is marked emailed once sent, so a second run
    (or a second beat) sends nothing twice; a short lock keeps two runs apart.
    """
    if not cache.add(LOCK, 1, timeout=300):
        return 0
    sent = 0
    try:
        for prefs in NotificationSettings.objects.filter(daily_digest=True).select_related("user"):
            sent += send_digest(user_id=prefs.user_id)
    finally:
        cache.delete(LOCK)
    return sent


def send_digest(*, user_id: int) -> int:
    with transaction.atomic():
        prefs = NotificationSettings.objects.select_for_update().select_related("user").get(
            user_id=user_id
        )
        pending = list(
            Notification.objects.filter(user_id=user_id, emailed_at__isnull=True)
            .select_related("team")
            .order_by("created_at", "pk")
        )
        user = prefs.user
        if not pending or not user.email:
            return 0
        lines = [f"[{n.team.name}] {n.text}" for n in pending]
        send_mail(
            subject=f"Studio: {len(pending)} notification{'s' if len(pending) != 1 else ''}",
            message="Since the last digest:\n\n" + "\n".join(f"- {line}" for line in lines),
            from_email=None,
            recipient_list=[user.email],
        )
        now = timezone.now()
        Notification.objects.filter(pk__in=[n.pk for n in pending]).update(emailed_at=now)
        prefs.digest_sent_at = now
        prefs.save(update_fields=["digest_sent_at"])
    log.info("digest of %d notifications to user %s", len(pending), user_id)
    return 1
