from django.contrib import admin

from .models import Generation, Reference, Result


class ResultInline(admin.TabularInline):
    model = Result
    extra = 0
    fields = ["position", "remote_file_id", "width", "height", "bytes", "sha256"]
    readonly_fields = fields
    can_delete = False


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["pk", "prompt", "team", "created_by", "status", "num_results", "created_at"]
    list_filter = ["status", "aspect_ratio", "watermark_mode", "created_at"]
    search_fields = ["prompt", "created_by__username", "remote_execution_id"]
    raw_id_fields = ["team", "created_by", "references"]
    readonly_fields = ["remote_execution_id", "seq", "created_seq", "created_at", "updated_at"]
    inlines = [ResultInline]


@admin.register(Reference)
class ReferenceAdmin(admin.ModelAdmin):
    list_display = ["pk", "team", "sha256", "width", "height", "remote_file_id", "created_at"]
    search_fields = ["sha256", "remote_file_id"]
    raw_id_fields = ["team"]
