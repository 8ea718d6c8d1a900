"""Django admin for site staff: generations, results and references.

Rows are read-only here: states change only through the state machine and
the services, whose actions below leave an audit entry each. Approve and
reject on results are the review app's (review/admin.py adds them)."""

from django.contrib import admin, messages
from django.db.models import Count, Prefetch, Q
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .models import ACTIVE_STATUSES, Generation, Reference, Result, Status, VideoGenAccount

# No inline style: the CSP covers the admin too.
THUMB = '<img src="{}" alt="" width="{}" height="{}">'


def thumbnail_html(result: Result | None, size: int = 64):
    if result is None or not result.thumbnail:
        return "—"
    return format_html(
        '<a href="{}">' + THUMB + "</a>",
        reverse("result_media", args=[result.pk, "original"]),
        reverse("result_media", args=[result.pk, "thumbnail"]),
        size,
        size,
    )


class ResultInline(admin.TabularInline):
    model = Result
    extra = 0
    fields = ["preview", "position", "review_state", "review_reason", "width", "height", "bytes"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Image")
    def preview(self, result):
        return thumbnail_html(result, 96)


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "preview",
        "short_prompt",
        "team",
        "created_by",
        "tool",
        "status",
        "num_results",
        "delivered",
        "created_at",
    ]
    list_display_links = ["pk", "short_prompt"]
    list_filter = [
        "status",
        "tool",
        ("team", admin.RelatedOnlyFieldListFilter),
        "created_at",
        "aspect_ratio",
    ]
    search_fields = [
        "prompt",
        "created_by__username",
        "created_by__email",
        "remote_execution_id",
        "=id",
    ]
    list_select_related = ["team", "created_by"]
    date_hierarchy = "created_at"
    actions = ["cancel_in_flight", "rerun_ingest"]
    inlines = [ResultInline]
    readonly_fields = [f.name for f in Generation._meta.fields] + ["references"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(stored=Count("results", filter=~Q(results__sha256="")))
            .prefetch_related(Prefetch("results", queryset=Result.objects.order_by("position")))
        )

    def has_add_permission(self, request):
        return False

    @admin.display(description="Image")
    def preview(self, generation):
        results = list(generation.results.all())
        return thumbnail_html(results[0] if results else None)

    @admin.display(description="Prompt", ordering="prompt")
    def short_prompt(self, generation):
        return generation.prompt[:80] + ("…" if len(generation.prompt) > 80 else "")

    @admin.display(description="Delivered", ordering="stored")
    def delivered(self, generation):
        return generation.stored

    @admin.action(description="Cancel selected in-flight generations", permissions=["change"])
    def cancel_in_flight(self, request, queryset):
        cancelled = services.generations_cancel(
            generations=queryset.filter(status__in=ACTIVE_STATUSES), actor=request.user
        )
        skipped = queryset.count() - cancelled
        self.message_user(request, f"Cancelled {cancelled} generation(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} had already finished and were left alone.", messages.WARNING
            )

    @admin.action(description="Re-run ingest (fetch missing images again)", permissions=["change"])
    def rerun_ingest(self, request, queryset):
        sent = services.generations_reingest(
            generations=queryset.filter(status=Status.SUCCEEDED), actor=request.user
        )
        skipped = queryset.count() - sent
        self.message_user(request, f"Sent {sent} generation(s) to ingest again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} had not succeeded: nothing to ingest.", messages.WARNING
            )


@admin.register(Result)
class ResultAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "preview",
        "prompt",
        "team",
        "creator",
        "position",
        "review_state",
        "review_reason",
        "created_at",
    ]
    list_display_links = ["pk", "prompt"]
    list_filter = [
        "review_state",
        ("team", admin.RelatedOnlyFieldListFilter),
        "generation__tool",
        "created_at",
    ]
    search_fields = [
        "generation__prompt",
        "generation__created_by__username",
        "generation__created_by__email",
        "=generation__id",
        "sha256",
    ]
    list_select_related = ["team", "generation", "generation__created_by"]
    date_hierarchy = "created_at"
    readonly_fields = ["large_preview"] + [f.name for f in Result._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Image")
    def preview(self, result):
        return thumbnail_html(result)

    @admin.display(description="Image")
    def large_preview(self, result):
        return thumbnail_html(result, 320)

    @admin.display(description="Prompt", ordering="generation__prompt")
    def prompt(self, result):
        return result.generation.prompt[:80]

    @admin.display(description="Created by", ordering="generation__created_by__username")
    def creator(self, result):
        return result.generation.created_by

@admin.register(Reference)
class ReferenceAdmin(admin.ModelAdmin):
    list_display = [
        "pk", "team", "content_type", "width", "height", "bytes", "uploaded", "created_at"
    ]
    list_filter = [("team", admin.RelatedOnlyFieldListFilter), "content_type", "created_at"]
    search_fields = ["sha256", "remote_file_id", "generations__prompt"]
    list_select_related = ["team"]
    readonly_fields = [f.name for f in Reference._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="On VideoGen", boolean=True)
    def uploaded(self, reference):
        return reference.uploaded_at is not None


@admin.register(VideoGenAccount)
class VideoGenAccountAdmin(admin.ModelAdmin):
    """What Studio learned about each API key's account; staff may correct it."""

    list_display = ["key_fingerprint", "has_production_addon", "learned_at", "note"]
    fields = ["key_fingerprint", "has_production_addon", "note", "learned_at"]
    readonly_fields = ["key_fingerprint", "learned_at"]
