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

from django.db import models, router, transaction
from django.db.models.fields.related_descriptors import ManyToManyDescriptor
from django.utils.functional import cached_property

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


def _ordered_manager(manager_cls: type) -> type:
    """``manager_cls`` (Django's many-to-many manager of one field) keeping the order uploads were given in.

    A plain ``ManyToManyField`` has no order: ``add()`` inserts through a
    set, ``set()`` leaves moved items where they were, and reads follow
    ``Upload.Meta.ordering`` (newest first). Here the order is the link rows'
    own (their auto-increment primary key, so no column is added and
    migrations stay the plain field's): ``add(a, b)`` links a then b,
    ``set([...])`` relinks when the order changed, and ``all()`` and
    ``prefetch_related`` read in that order.
    """

    class OrderedUploadsManager(manager_cls):
        def _in_order(self, queryset):
            through = self.through._meta
            return queryset.extra(order_by=[f"{through.db_table}.{through.pk.column}"])

        def get_queryset(self):
            return self._in_order(super().get_queryset())

        def get_prefetch_querysets(self, instances, querysets=None):
            queryset, *rest = super().get_prefetch_querysets(instances, querysets)
            return (self._in_order(queryset), *rest)

        def add(self, *objs, through_defaults=None):
            db = router.db_for_write(self.through, instance=self.instance)
            with transaction.atomic(using=db, savepoint=False):
                for obj in objs:  # one at a time: Django's add() inserts a set, in no order
                    super().add(obj, through_defaults=through_defaults)

        add.alters_data = True

        def set(self, objs, *, clear=False, through_defaults=None):
            objs = tuple(objs)
            target = self.target_field
            key = target.target_field.to_python
            new = [key(target.get_foreign_related_value(o)[0] if isinstance(o, self.model) else o) for o in objs]
            new = list(dict.fromkeys(new))
            db = router.db_for_write(self.through, instance=self.instance)
            with transaction.atomic(using=db, savepoint=False):
                old = [] if clear else list(self.using(db).values_list(target.target_field.attname, flat=True))
                if old == new[:len(old)]:
                    if clear:
                        self.clear()
                    self.add(*new[len(old):], through_defaults=through_defaults)
                else:
                    self.clear()
                    self.add(*new, through_defaults=through_defaults)

        set.alters_data = True

    return OrderedUploadsManager


class _OrderedDescriptor(ManyToManyDescriptor):
    @cached_property
    def related_manager_cls(self):
        return _ordered_manager(super().related_manager_cls)


class UploadReferencesField(models.ManyToManyField):
    """A ManyToManyField to ``realtime_uploads.Upload`` that keeps its order; ``related_name`` defaults to ``"+"``.

    ``instance.<field>.all()`` lists the uploads in the order they were given
    (``set([...])``, ``add(a, b)``, a form's posted order), not newest first:
    a gallery keeps its order after saving. The order is the link rows'
    primary key, so migrations record the plain ``ManyToManyField`` and no
    column is added. Its form field is ``UploadField(multiple=True)``; rows of
    the through table go when either side is deleted (ManyToMany's usual
    CASCADE on the link).
    """

    def __init__(self, to: str = UPLOAD_MODEL, **kwargs):
        kwargs.setdefault("related_name", "+")
        super().__init__(to, **kwargs)

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        setattr(cls, self.name, _OrderedDescriptor(self.remote_field, reverse=False))

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
