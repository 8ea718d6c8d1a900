from django.apps import AppConfig


class DiscussionConfig(AppConfig):
    name = "studio.discussion"
    label = "discussion"

    def ready(self):
        # Lower apps tell this one what happened through signals (DESIGN.md "Layout").
        from . import receivers  # noqa: F401
