from django.apps import AppConfig


class ModelsAppConfig(AppConfig):
    name = "models_app"
    verbose_name = "Data, teachers and runs"

    def ready(self) -> None:
        from . import handlers  # noqa: F401  (registers the job handlers)
