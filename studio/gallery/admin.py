from django.contrib import admin

from .models import Collection, CollectionItem, ShareLink


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    extra = 0
    raw_id_fields = ["result", "added_by"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_by", "updated_at"]
    search_fields = ["name", "team__name"]
    raw_id_fields = ["team", "created_by", "cover"]
    inlines = [CollectionItemInline]


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ["pk", "team", "collection", "result", "created_by", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["team__name", "collection__name"]
    raw_id_fields = ["team", "collection", "result", "created_by"]
    readonly_fields = ["token"]
