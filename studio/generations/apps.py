from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "studio.generations"
    label = "generations"

    def ready(self):
        from studio.videogen import add_call_observer

        from .budget import record_call

        # Every VideoGen call is counted per hour, team and member (the API budget page).
        add_call_observer(record_call)
