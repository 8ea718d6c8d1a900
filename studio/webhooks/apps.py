from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """VideoGen's webhooks: the endpoint registration and the receiver."""

    name = "studio.webhooks"
    label = "webhooks"

    def ready(self):
        # Tells the pipeline (below us: it does not import webhooks) whether
        # VideoGen pushes execution events, so it polls only as a fallback.
        from studio.generations.services import execution_push_register

        from .selectors import webhooks_enabled

        execution_push_register(webhooks_enabled)
