import os

from celery import Celery
from celery.schedules import crontab

import studio.broker  # noqa: F401  (registers the embedded broker's studio-sqlite:// transport)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def schedule_periodic_tasks(sender, **kwargs):
    from django.conf import settings

    sender.add_periodic_task(
        settings.STUDIO_DISPATCH_TICK,
        sender.signature("generations.dispatch"),
        name="dispatch queued work to the key's budget",
    )
    sender.add_periodic_task(
        settings.STUDIO_RECONCILE_INTERVAL,
        sender.signature("generations.reconcile_generations"),
        name="reconcile overdue generations",
    )
    sender.add_periodic_task(
        6 * 3600,
        sender.signature("generations.purge_trash"),
        name="purge the Trash of what is past its 30 days",
    )
    sender.add_periodic_task(
        settings.STUDIO_DESCRIBE_INTERVAL,
        sender.signature("generations.backfill_descriptions"),
        name="fetch VideoGen's descriptions that no webhook brought",
    )
    sender.add_periodic_task(
        crontab(hour=settings.STUDIO_DIGEST_HOUR, minute=0),
        sender.signature("discussion.send_notification_digests"),
        name="daily notification digests",
    )
