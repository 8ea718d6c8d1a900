"""What generations tells the apps above it (they connect; this app imports none of them)."""

from django.dispatch import Signal

# A generation reached its end: stored (succeeded and ingested), failed or
# unknown. Sent once per move, after the change is committed; `generation`.
generation_finished = Signal()
