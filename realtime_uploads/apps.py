from django.apps import AppConfig


class RealtimeUploadsConfig(AppConfig):
    name = "realtime_uploads"
    verbose_name = "Realtime uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from realtime_uploads import checks  # noqa: F401 - registers the system checks
