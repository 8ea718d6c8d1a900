from django.db import models


class WebhookEndpoint(models.Model):
    """An endpoint registered on VideoGen, with the secret its deliveries are signed by."""

    remote_endpoint_id = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    # Shown once by VideoGen at creation; needed to verify every delivery.
    signing_secret = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.url} ({self.remote_endpoint_id})"


class WebhookDelivery(models.Model):
    """One delivery received; its webhook-id makes a repeated delivery a no-op."""

    webhook_id = models.CharField(max_length=200, unique=True)
    event = models.CharField(max_length=100)
    execution_id = models.CharField(max_length=100, blank=True, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["received_at"], name="webhook_received")]

    def __str__(self):
        return f"{self.event} {self.webhook_id}"
