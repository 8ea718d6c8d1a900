from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """VideoGen's webhooks: the endpoint registration and the receiver."""

    name = "studio.webhooks"
    label = "webhooks"
