"""A model that keeps uploads by reference, for tests/test_model_field.py."""

from django.db import models

from realtime_uploads.fields import UploadReferenceField, UploadReferencesField


class Profile(models.Model):
    name = models.CharField(max_length=50)
    photo = UploadReferenceField(null=True, blank=True)
    gallery = UploadReferencesField(blank=True)

    def __str__(self) -> str:
        return self.name
