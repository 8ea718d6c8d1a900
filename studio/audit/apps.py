from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only audit log: a leaf every app may write to."""

    name = "studio.audit"
    label = "audit"
    verbose_name = "Audit log"
