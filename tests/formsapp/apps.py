from django.apps import AppConfig


class FormsAppConfig(AppConfig):
    name = "tests.formsapp"
    label = "formsapp"
    default_auto_field = "django.db.models.BigAutoField"
