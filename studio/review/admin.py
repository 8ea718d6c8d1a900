"""Django admin for site staff, the review app's part: teams with their review
policy and quota (changes go through services.policy_update, so each leaves an
audit entry), and Approve / Reject on results."""

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse

from studio.audit.models import AuditEntry
from studio.generations.admin import ResultAdmin as GenerationsResultAdmin
from studio.generations.models import Generation, Result
from studio.generations.quota import Month, counts_against_quota
from studio.teams import services as team_services
from studio.teams.admin import MembershipInline
from studio.teams.models import Membership, Team, TeamPolicy

from . import services

VIA_ADMIN = AuditEntry.Via.ADMIN


class TeamPolicyInline(admin.StackedInline):
    model = TeamPolicy
    can_delete = False
    max_num = 1
    fields = ["require_approval", "monthly_image_quota"]
    verbose_name = "review policy and quota"
    verbose_name_plural = "review policy and quota"


def _images_used_this_month():
    month = Month.current()
    used = (
        Generation.objects.filter(
            team=OuterRef("pk"), created_at__gte=month.start, created_at__lt=month.end
        )
        .filter(counts_against_quota())
        .order_by()
        .values("team")
        .annotate(total=Sum("num_results"))
        .values("total")
    )
    return Coalesce(Subquery(used, output_field=IntegerField()), 0)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "member_count",
        "require_approval",
        "quota",
        "images_this_month",
        "created_at",
    ]
    list_filter = ["review_policy__require_approval", "created_at"]
    search_fields = ["name", "memberships__user__username"]
    list_select_related = ["review_policy"]
    readonly_fields = ["change_seq", "created_at"]
    inlines = [TeamPolicyInline, MembershipInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                members_count=Count("memberships", distinct=True),
                used=_images_used_this_month(),
            )
        )

    @admin.display(description="Members", ordering="members_count")
    def member_count(self, team):
        return team.members_count

    @admin.display(description="Require approval", boolean=True)
    def require_approval(self, team):
        policy = getattr(team, "review_policy", None)
        return bool(policy and policy.require_approval)

    @admin.display(description="Monthly quota", ordering="review_policy__monthly_image_quota")
    def quota(self, team):
        policy = getattr(team, "review_policy", None)
        return "unlimited" if policy is None or policy.monthly_image_quota is None else (
            policy.monthly_image_quota
        )

    @admin.display(description="Images this month", ordering="used")
    def images_this_month(self, team):
        return team.used

    def save_formset(self, request, form, formset, change):
        team = form.instance
        if formset.model is TeamPolicy:
            # Through the service, which records each change; the admin's own
            # history message reads what formset.save() would have set.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for policy_form in formset.forms:
                if policy_form.has_changed():
                    policy = services.policy_update(
                        team=team,
                        actor=request.user,
                        require_approval=policy_form.cleaned_data["require_approval"],
                        monthly_image_quota=policy_form.cleaned_data["monthly_image_quota"],
                        via=VIA_ADMIN,
                    )
                    formset.changed_objects.append((policy, policy_form.changed_data))
            return
        if formset.model is Membership:
            with transaction.atomic():
                roles = dict(Membership.objects.filter(team=team).values_list("pk", "role"))
                memberships = formset.save(commit=False)
                for membership in formset.deleted_objects:
                    team_services.membership_delete_recorded(
                        membership=membership, actor=request.user
                    )
                for membership in memberships:
                    membership.save()
                    team_services.membership_recorded(
                        membership=membership,
                        actor=request.user,
                        before_role=roles.get(membership.pk),
                    )
            return
        super().save_formset(request, form, formset, change)


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="The creator and the team's admins see it.",
    )


def _decide(request, queryset, *, approve: bool, reason: str = "") -> int:
    """Decisions are made per team: each leaves its audit entries in that team's log."""
    by_team = defaultdict(list)
    for result in queryset.select_related("team"):
        by_team[result.team].append(result)
    return sum(
        services.review_decide(
            team=team,
            actor=request.user,
            results=results,
            approve=approve,
            reason=reason,
            via=AuditEntry.Via.ADMIN,
        )
        for team, results in by_team.items()
    )



# Result's admin is the generations app's; review adds its decisions to it.
admin.site.unregister(Result)


@admin.register(Result)
class ResultAdmin(GenerationsResultAdmin):
    actions = ["approve", "reject"]

    @admin.action(description="Approve selected results", permissions=["change"])
    def approve(self, request, queryset):
        changed = _decide(request, queryset, approve=True)
        self.message_user(request, f"Approved {changed} result(s).", messages.SUCCESS)

    @admin.action(description="Reject selected results…", permissions=["change"])
    def reject(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            changed = _decide(request, queryset, approve=False, reason=form.cleaned_data["reason"])
            self.message_user(request, f"Rejected {changed} result(s).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject results",
            "opts": self.model._meta,
            "form": form,
            "results": queryset.select_related("generation"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "review/admin_reject.html", context)
