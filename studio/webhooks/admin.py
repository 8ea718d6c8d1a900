from django.contrib import admin

from .models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "remote_endpoint_id", "is_active", "created_at"]
    list_filter = ["is_active"]
    exclude = ["signing_secret"]
    readonly_fields = ["remote_endpoint_id", "url", "events", "created_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["webhook_id", "event", "execution_id", "received_at", "handled_at"]
    list_filter = ["event"]
    search_fields = ["webhook_id", "execution_id"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
