"""`make run`'s start step: with the sandbox, register Studio's own receiver if
VideoGen has none for it, so a newcomer gets the webhook fast path at once."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from studio.videogen import client_from_settings
from studio.videogen.errors import VideoGenError
from studio.webhooks.services import InvalidEndpointUrl, endpoint_ensure


class Command(BaseCommand):
    help = "Register this Studio's webhook receiver with the sandbox unless one is registered."

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="URL of /webhooks/videogen/")
        parser.add_argument("--wait", type=float, default=30.0,
                            help="seconds to wait for the API to answer (it may be starting)")
        parser.add_argument("--force", action="store_true",
                            help="also with a real API key (normally the sandbox only)")

    def handle(self, *args, url, wait, force, **options):
        if not settings.VIDEOGEN_USES_SANDBOX and not force:
            self.stdout.write("A real API key is set: register endpoints with register_webhook.")
            return
        deadline = time.monotonic() + wait
        while True:
            try:
                endpoint, created = endpoint_ensure(client=client_from_settings(), url=url)
                break
            except InvalidEndpointUrl as exc:
                raise CommandError(f"Not registered: {exc}") from exc
            except VideoGenError as exc:
                if time.monotonic() > deadline:
                    raise CommandError(f"VideoGen did not answer: {exc}") from exc
                time.sleep(0.5)
        verb = "Registered" if created else "Already registered:"
        self.stdout.write(self.style.SUCCESS(f"{verb} {endpoint.remote_endpoint_id} for {url}"))
