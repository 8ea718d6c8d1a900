from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Cross-cutting plumbing: health checks and the Content Security Policy."""

    name = "studio.ops"
    label = "ops"
