from django.urls import path

from . import views

urlpatterns = [
    path("teams/", views.team_list, name="team_list"),
    path("teams/new/", views.team_create, name="team_create"),
    path("teams/<int:pk>/switch/", views.team_switch, name="team_switch"),
    path("team/", views.team_settings, name="team_settings"),
    path("team/rename/", views.team_rename, name="team_rename"),
    path("team/leave/", views.team_leave, name="team_leave"),
    path("team/invitations/", views.invitation_create, name="invitation_create"),
    path(
        "team/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"
    ),
    path("team/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("team/members/<int:pk>/limit/", views.member_limit, name="member_limit"),
    path("team/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("team/members/<int:pk>/transfer/", views.member_transfer, name="member_transfer"),
    path("invitations/<slug:token>/", views.invitation_detail, name="invitation_detail"),
    path("invitations/<slug:token>/accept/", views.invitation_accept, name="invitation_accept"),
]
