from django.core.management.base import BaseCommand, CommandError

from studio.videogen import client_from_settings
from studio.videogen.errors import VideoGenError
from studio.webhooks.services import InvalidEndpointUrl, endpoint_register


class Command(BaseCommand):
    help = "Create a VideoGen webhook endpoint for execution events and store its secret."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            required=True,
            help="Public HTTPS URL of /webhooks/videogen/ (http:// only for loopback)",
        )
        parser.add_argument("--description", default="Studio")

    def handle(self, *args, url, description, **options):
        try:
            endpoint = endpoint_register(
                client=client_from_settings(), url=url, description=description
            )
        except InvalidEndpointUrl as exc:
            raise CommandError(f"Not registered: {exc}") from exc
        except VideoGenError as exc:
            raise CommandError(f"VideoGen refused the endpoint: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered {endpoint.remote_endpoint_id} for {endpoint.url} "
                f"(secret ending …{endpoint.signing_secret[-4:]}); polling is now a fallback."
            )
        )
