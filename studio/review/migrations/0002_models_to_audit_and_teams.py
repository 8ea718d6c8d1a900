"""AuditEntry now belongs to the audit app and TeamPolicy to teams: the review
app forgets them (state only: tables and rows stay). Their content types move
with them, so permissions and admin history keep pointing at them."""

from django.db import migrations

MOVED = [("auditentry", "audit"), ("teampolicy", "teams")]


def _relabel(apps, schema_editor, *, forward: bool):
    content_type = apps.get_model("contenttypes", "ContentType")
    types = content_type.objects.using(schema_editor.connection.alias)
    for model, app in MOVED:
        old, new = ("review", app) if forward else (app, "review")
        if not types.filter(app_label=new, model=model).exists():
            types.filter(app_label=old, model=model).update(app_label=new)


class Migration(migrations.Migration):

    dependencies = [
        ("review", "0001_initial"),
        ("audit", "0001_initial"),
        ("teams", "0003_teampolicy_from_review"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AuditEntry"),
                migrations.DeleteModel(name="TeamPolicy"),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            lambda apps, se: _relabel(apps, se, forward=True),
            lambda apps, se: _relabel(apps, se, forward=False),
        ),
    ]
