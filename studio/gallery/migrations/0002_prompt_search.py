"""Prompt search: an FTS5 table and triggers on SQLite, a GIN index on PostgreSQL.

Both are on generations_generation (another app's table); see studio/gallery/search.py.
"""

from django.db import migrations


def create_index(apps, schema_editor):
    from studio.gallery.search import ensure_index

    ensure_index(schema_editor.connection)


def drop_index(apps, schema_editor):
    from studio.gallery.search import drop_index

    drop_index(schema_editor.connection)


class Migration(migrations.Migration):
    # PostgreSQL builds the index CONCURRENTLY, which cannot run in a transaction.
    atomic = False

    dependencies = [
        ("gallery", "0001_initial"),
        ("generations", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
