"""A model that keeps uploads by reference, for tests/unit/forms/test_model_fields.py."""

from django.db import models

from realtime_uploads.forms.model_fields import UploadReferenceField, UploadReferencesField


class Profile(models.Model):
    name = models.CharField(max_length=50)
    photo = UploadReferenceField(null=True, blank=True)
    gallery = UploadReferencesField(blank=True)

    def __str__(self) -> str:
        return self.name


class Avatar(models.Model):
    """A one-to-one reference that cascades: retention must count it as a reference too."""

    upload = models.OneToOneField("realtime_uploads.Upload", on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"avatar {self.upload_id}"
