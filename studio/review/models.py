"""The usage pages' rollup: what each member did with each tool on a settled day.

The usage page, its 12-month table and the CSV add these rows up instead of
every generation of the team, so they cost the same at 1,000 images as at
100,000: a year is at most days x members x tools rows. Only settled days are
rolled up (rollup.py); the rest is counted from the generations on each view.
"""

from django.conf import settings
from django.db import models

from studio.teams.models import Team


class UsageDay(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # The first day of its month: the 12-month table and the CSV group by it (a
    # column, not a date function called on every row).
    month = models.DateField()
    # Null on the one row that marks the day as rolled up (all counts 0), so that a
    # day without any generation is not counted again on every view.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    tool = models.CharField(max_length=30, blank=True)
    generations = models.PositiveIntegerField(default=0)
    # Those that count against the quota (quota.counts_against_quota), and their images.
    generations_billed = models.PositiveIntegerField(default=0)
    images_requested = models.PositiveIntegerField(default=0)
    images_billed = models.PositiveIntegerField(default=0)
    images_delivered = models.PositiveIntegerField(default=0)
    executions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # Two views rolling up the same day at once: the second one's rows are dropped.
            models.UniqueConstraint(fields=["team", "day", "user", "tool"], name="usage_day_once")
        ]

    def __str__(self):
        return f"usage of team {self.team_id} on {self.day}"
