from django.apps import AppConfig
from django.db.models.signals import post_migrate

SEARCH_MIGRATION = ("gallery", "0002_prompt_search")


class GalleryConfig(AppConfig):
    name = "studio.gallery"
    label = "gallery"

    def ready(self):
        post_migrate.connect(_ensure_search_index, sender=self)
        from . import receivers  # noqa: F401  (teams tells the gallery through signals)


def _ensure_search_index(sender, using, **kwargs):
    """After every migrate: SQLite drops triggers when a migration rebuilds the
    generations table, so the search index is checked (and refilled) again."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from .search import ensure_index

    connection = connections[using]
    if SEARCH_MIGRATION in MigrationRecorder(connection).applied_migrations():
        ensure_index(connection)
