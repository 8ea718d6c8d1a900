"""What this app does when a lower app says something happened."""

from django.dispatch import receiver
from django.urls import reverse

from studio.generations.models import Generation, Status
from studio.generations.presence import is_watching
from studio.generations.signals import generation_finished

from .models import Kind
from .services import notify


@receiver(generation_finished, sender=Generation)
def tell_who_left(sender, generation: Generation, **kwargs):
    """A batch that ends while its maker is not on the studio page: a notification."""
    if is_watching(team_id=generation.team_id, user_id=generation.created_by_id):
        return
    if generation.status == Status.SUCCEEDED:
        count = generation.results.count()
        what = f"{count} image{'s' if count != 1 else ''} ready"
    else:
        what = "it failed"
    notify(
        team_id=generation.team_id,
        user=generation.created_by,
        kind=Kind.BATCH,
        text=f"Your generation “{generation.prompt[:80]}” finished: {what}.",
        url=reverse("studio") + f"#generation-{generation.pk}",
    )
