"""Model fields that keep an upload as a reference, never as a URL.

Presigned variant URLs expire; the reference does not. Store the upload with
:class:`UploadReferenceField` (one) or :class:`UploadReferencesField` (many)
and build URLs when rendering, with :func:`variant_url` / :func:`variant_urls`
(or the ``realtime_uploads`` template filters of the same names)::

    class Profile(models.Model):
        photo = UploadReferenceField(null=True, blank=True)

    variant_url(profile.photo, "thumb")   # -> "https://…" or None

In a ModelForm both fields become :class:`~realtime_uploads.forms.UploadField`
(``multiple=True`` for the many-to-many one), which needs the request
(:class:`~realtime_uploads.forms.UploadFormMixin`).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from realtime_uploads.forms.fields import UploadField
from realtime_uploads.storage import get_backend

UPLOAD_MODEL = "realtime_uploads.Upload"


class UploadReferenceField(models.ForeignKey):
    """A ForeignKey to ``realtime_uploads.Upload``; ``on_delete`` defaults to ``PROTECT``.

    PROTECT because an upload row is the only record of where its files are:
    deleting it while something still shows it would leave a broken image.
    ``related_name`` defaults to ``"+"`` (no reverse accessor on Upload).
    """

    def __init__(self, to: str = UPLOAD_MODEL, on_delete=models.PROTECT, **kwargs):
        kwargs.setdefault("related_name", "+")
        super().__init__(to, on_delete=on_delete, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        # Migrations record a plain ForeignKey: they need no import of this module to run.
        return name, "django.db.models.ForeignKey", args, kwargs

    def formfield(self, **kwargs):
        defaults = {"form_class": UploadField, "required": not self.blank}
        defaults.update(kwargs)
        defaults.pop("queryset", None)
        return models.Field.formfield(self, **defaults)


class UploadReferencesField(models.ManyToManyField):
    """A ManyToManyField to ``realtime_uploads.Upload``; ``related_name`` defaults to ``"+"``.

    Its form field is ``UploadField(multiple=True)``; rows of the through table
    go when either side is deleted (ManyToMany's usual CASCADE on the link).
    """

    def __init__(self, to: str = UPLOAD_MODEL, **kwargs):
        kwargs.setdefault("related_name", "+")
        super().__init__(to, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.ManyToManyField", args, kwargs

    def formfield(self, **kwargs):
        defaults = {"form_class": UploadField, "required": not self.blank, "multiple": True}
        defaults.update(kwargs)
        defaults.pop("queryset", None)
        return models.Field.formfield(self, **defaults)


def variant_urls(upload: Any) -> dict[str, str]:
    """``{variant name: URL}`` for a completed upload (``{}`` for None or one without variants).

    URLs come from the configured backend (on S3 presigned GETs that expire,
    unless the backend has a public base URL): call this when rendering,
    never store its result. One query unless ``variants`` is prefetched.
    """
    if upload is None:
        return {}
    backend = get_backend()
    return {v.name: backend.variant_url(v.key) for v in upload.variants.all()}


def variant_url(upload: Any, name: str) -> str | None:
    """The URL of ``upload``'s variant ``name``, or None if there is no such variant (or no upload)."""
    return variant_urls(upload).get(name)
