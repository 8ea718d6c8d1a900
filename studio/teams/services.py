from django.db import transaction

from .models import Membership, Team


@transaction.atomic
def team_create_personal(*, user) -> Team:
    team = Team.objects.create(name=f"{user.get_username()}'s team")
    Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
    return team
