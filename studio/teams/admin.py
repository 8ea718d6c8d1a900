"""Django admin for site staff: teams (with their review policy and quota) and
memberships. Role changes, members added or removed and policy changes made
here go through the review services, so each leaves an audit entry."""

from django.contrib import admin
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from studio.generations.models import Generation
from studio.review import services as review_services
from studio.review.models import AuditEntry, TeamPolicy
from studio.review.quota import Month, counts_against_quota

from .models import Membership, Team

VIA_ADMIN = AuditEntry.Via.ADMIN


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


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
                    policy = review_services.policy_update(
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
                    review_services.membership_remove(membership=membership, actor=request.user)
                for membership in memberships:
                    membership.save()
                    review_services.membership_recorded(
                        membership=membership,
                        actor=request.user,
                        before_role=roles.get(membership.pk),
                    )
            return
        super().save_formset(request, form, formset, change)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", ("team", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "user__email", "team__name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            before = (
                Membership.objects.filter(pk=obj.pk).values_list("role", flat=True).first()
                if change
                else None
            )
            super().save_model(request, obj, form, change)
            review_services.membership_recorded(
                membership=obj, actor=request.user, before_role=before
            )

    def delete_model(self, request, obj):
        review_services.membership_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for membership in queryset.select_related("user", "team"):
                review_services.membership_remove(membership=membership, actor=request.user)
