from django.apps import AppConfig
from django.conf import settings


class OpsConfig(AppConfig):
    """Cross-cutting plumbing: health checks and the Content Security Policy."""

    name = "studio.ops"
    label = "ops"

    def ready(self):
        # The folders the embedded defaults write to exist before anything
        # opens them: the SQLite database under var/, and STATIC_ROOT
        # (whitenoise warns on every request otherwise). Settings only name
        # them; the broker creates its own file's folder.
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
