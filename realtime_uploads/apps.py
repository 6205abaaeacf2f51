from django.apps import AppConfig


class RealtimeUploadsConfig(AppConfig):
    name = "realtime_uploads"
    verbose_name = "Realtime uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from realtime_uploads import checks  # noqa: F401 - registers the system checks
        from realtime_uploads.conf import default_channel_layers

        default_channel_layers()  # development: the in-memory layer when the project sets none
        from realtime_uploads.state import purge  # noqa: F401 - deleting an upload deletes its stored objects
