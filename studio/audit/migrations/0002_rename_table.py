"""review_auditentry becomes audit_auditentry: a rename, every row kept."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
        ("review", "0002_models_to_audit_and_teams"),
    ]

    operations = [
        migrations.AlterModelTable(name="auditentry", table=None),
    ]
