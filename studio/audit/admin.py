from django.contrib import admin
from django.utils.html import format_html, format_html_join

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only, for staff as for everyone."""

    list_display = ["created_at", "team", "actor_label", "action", "via", "target_label", "change"]
    list_filter = ["action", "via", ("team", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["actor_label", "target_label", "=target_id", "team__name"]
    list_select_related = ["team"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "team",
        "actor",
        "actor_label",
        "action",
        "via",
        "target_type",
        "target_id",
        "target_label",
        "change",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Before → after")
    def change(self, entry):
        rows = entry.changes()
        if not rows:
            return "—"
        return format_html(
            "<ul>{}</ul>",  # no inline style: the CSP covers the admin too
            format_html_join(
                "",
                "<li>{}: {} → {}</li>",
                ((label, old or "·", new or "removed") for label, old, new in rows),
            ),
        )
