"""Who may see a result's bytes: the one permission check for media."""

from studio.generations.models import Result


def result_visible_to(request, result: Result) -> bool:
    """A result's media is for members of its team, or through a valid share link."""
    token = _share_token(request)
    if token is not None:
        return _shared_by_link(token, result)
    user = request.user
    return user.is_authenticated and user.memberships.filter(team_id=result.team_id).exists()


# --- share links --------------------------------------------------------------------------
# Apart from the membership rule: on a share link's own URLs (the token is in
# the path, as `share_token`) only the link decides, for signed-in members too,
# so a revoked or expired link stops showing anything at once, to everyone.


def _share_token(request) -> str | None:
    match = getattr(request, "resolver_match", None)
    return match.kwargs.get("share_token") if match is not None else None


def _shared_by_link(token: str, result: Result) -> bool:
    from .selectors import share_link_covers  # gallery models import this module's app

    return share_link_covers(token=token, result=result)
