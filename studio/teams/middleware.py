from .selectors import current_membership

SESSION_KEY = "current_team_id"


class CurrentTeamMiddleware:
    """Sets request.team and request.membership for a signed-in user.

    The current team lives in the session and is re-checked against the
    user's memberships on every request, so a removed member loses access at
    once. Views scope every query by request.team.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.team = None
        request.membership = None
        if request.user.is_authenticated:
            team_id = request.session.get(SESSION_KEY)
            membership = current_membership(user=request.user, team_id=team_id)
            if membership is not None:
                request.team = membership.team
                request.membership = membership
                if team_id != membership.team_id:
                    request.session[SESSION_KEY] = membership.team_id
        return self.get_response(request)
