"""TeamPolicy moves here from the review app, keeping its table and rows
(state only: the table keeps its name, review_teampolicy)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("teams", "0002_invitations"),
        ("review", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='TeamPolicy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('require_approval', models.BooleanField(default=False, help_text='Members and viewers see a result only once an admin or owner approved it.', verbose_name='require approval')),
                        ('monthly_image_quota', models.PositiveIntegerField(blank=True, help_text='Images the team may request per calendar month. Empty: unlimited.', null=True, verbose_name='monthly image quota')),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('team', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='review_policy', to='teams.team')),
                    ],
                    options={
                        'db_table': 'review_teampolicy',
                        'verbose_name': 'team policy',
                        'verbose_name_plural': 'team policies',
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
