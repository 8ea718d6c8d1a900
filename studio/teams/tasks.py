"""Email for invitations: sent by a worker, so a slow mail server never holds a request."""

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from .models import Invitation

log = logging.getLogger(__name__)


@shared_task(
    name="teams.send_invitation_email",
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def send_invitation_email(invitation_id: int, accept_url: str) -> None:
    invitation = (
        Invitation.objects.select_related("team", "created_by").filter(pk=invitation_id).first()
    )
    if invitation is None or not invitation.is_pending or not invitation.email:
        return
    context = {"invitation": invitation, "accept_url": accept_url}
    send_mail(
        subject=f"You are invited to {invitation.team.name} on Studio",
        message=render_to_string("teams/invitation_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )
    log.info("invitation %s: sent to its address", invitation.pk)
