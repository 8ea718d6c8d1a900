"""Django admin for site staff: memberships. Members added, removed or whose
role changes here leave an audit entry each (services). The team pages, with
their policy and quota, are the review app's (review/admin.py)."""

from django.contrib import admin
from django.db import transaction

from . import services
from .models import Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


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
            services.membership_recorded(
                membership=obj, actor=request.user, before_role=before
            )

    def delete_model(self, request, obj):
        services.membership_delete_recorded(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for membership in queryset.select_related("user", "team"):
                services.membership_delete_recorded(membership=membership, actor=request.user)
