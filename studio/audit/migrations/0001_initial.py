"""AuditEntry moves here from the review app: its table and rows stay as they are
(state only), and 0002 renames the table."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("review", "0001_initial"),
        ("teams", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AuditEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('actor_label', models.CharField(max_length=150, verbose_name='who')),
                        ('action', models.CharField(choices=[('review.approve', 'Approved an image'), ('review.reject', 'Rejected an image'), ('member.role', "Changed a member's role"), ('member.add', 'Added a member'), ('member.remove', 'Removed a member'), ('policy.quota', 'Changed the monthly image quota'), ('policy.approval', 'Changed “Require approval”'), ('generation.cancel', 'Cancelled a generation'), ('generation.reingest', 'Re-ran ingest of a generation')], max_length=30)),
                        ('via', models.CharField(choices=[('studio', 'Studio'), ('admin', 'Django admin')], default='studio', max_length=10)),
                        ('target_type', models.CharField(max_length=60)),
                        ('target_id', models.CharField(max_length=40)),
                        ('target_label', models.CharField(max_length=200, verbose_name='target')),
                        ('before', models.JSONField(blank=True, default=dict)),
                        ('after', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='when')),
                        ('actor', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('team', models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='teams.team')),
                    ],
                    options={
                        'verbose_name': 'audit entry',
                        'verbose_name_plural': 'audit log',
                        'db_table': 'review_auditentry',
                        'ordering': ['-created_at', '-pk'],
                        'indexes': [models.Index(fields=['team', '-created_at'], name='audit_team_newest'), models.Index(fields=['team', 'actor', '-created_at'], name='audit_team_actor'), models.Index(fields=['team', 'action', '-created_at'], name='audit_team_action')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
