from celery import shared_task

from . import services


@shared_task(name="webhooks.handle_delivery")
def handle_delivery(delivery_id: int) -> None:
    services.delivery_handle(delivery_id)
