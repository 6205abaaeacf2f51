"""Giving forms the request their upload fields check against: a form mixin, a function, an admin mixin."""

from __future__ import annotations

from typing import Any

from django import forms

from realtime_uploads.forms.fields import UploadField
from realtime_uploads.forms.widgets import UploadWidget


def bind_request(form: forms.BaseForm, request: Any) -> forms.BaseForm:
    """Bind ``request`` (and each field's initial value) to every UploadField of ``form``; returns ``form``."""
    form.request = request
    for name, field in form.fields.items():
        if isinstance(field, UploadField):
            field.bind(request=request, initial=form.get_initial_for_field(field, name))
    return form


class UploadFormMixin:
    """Put before ``forms.Form`` / ``forms.ModelForm``: ``MyForm(data, request=request)``."""

    def __init__(self, *args, request: Any = None, **kwargs):
        super().__init__(*args, **kwargs)
        if request is not None:
            bind_request(self, request)


class UploadAdminMixin:
    """Put before ``admin.ModelAdmin`` of a model with upload fields: its forms get the request bound.

    Upload fields also keep their own widget: the admin's related-object
    wrapper (add/change links to Upload rows) means nothing for them.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(formfield, UploadField) and not isinstance(formfield.widget, UploadWidget):
            formfield.widget = getattr(formfield.widget, "widget", formfield.widget)
        return formfield

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)

        def __init__(form, *args, **kw):  # noqa: N807 - the bound form's __init__
            form_class.__init__(form, *args, **kw)
            bind_request(form, request)

        return type(form_class.__name__, (form_class,), {"__init__": __init__, "__module__": form_class.__module__})
