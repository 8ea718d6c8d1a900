"""Who may see a result's bytes: the one permission check for media."""

from studio.generations.models import Result
from studio.generations.visibility import may_see_result


def result_visible_to(request, result: Result) -> bool:
    """A result's media is for members of its team, or through a valid share link."""
    token = _share_token(request)
    if token is not None:
        return _shared_by_link(token, result) and _review_allows(result, membership=None)
    user = request.user
    if not user.is_authenticated:
        return False
    if _staff_reviewing(user):
        return True
    membership = user.memberships.filter(team_id=result.team_id).first()
    return membership is not None and _review_allows(result, membership=membership)


# --- review policy (studio.generations.visibility) ---------------------------------------
# A result not approved yet is hidden from members and viewers when the team
# requires approval (a rejected one always); creators, admins and owners see it.
# A share link shows what a viewer would see. Site staff see every result, for
# the Django admin's thumbnails.


def _review_allows(result: Result, *, membership) -> bool:
    return may_see_result(result=result, membership=membership)


def _staff_reviewing(user) -> bool:
    return user.is_staff and user.has_perm("generations.view_result")


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
