"""Who may see a result's bytes: the one permission check for media."""

from studio.generations.models import Result


def result_visible_to(request, result: Result) -> bool:
    """A result's media is for members of its team."""
    user = request.user
    return user.is_authenticated and user.memberships.filter(team_id=result.team_id).exists()
