"""Forms and model fields for uploads the browser already made, and the ``<picture>`` markup of a result.

The form API is importable from here::

    from realtime_uploads.forms import UploadField, UploadFormMixin

- :mod:`.fields`: :class:`UploadField`, upload references in, ``Upload`` instances out;
- :mod:`.widgets`: :class:`UploadWidget`, the file input ``forms.js`` enhances;
- :mod:`.binding`: :class:`UploadFormMixin`, :func:`bind_request`, :class:`UploadAdminMixin`;
- :mod:`.model_fields`: ``UploadReferenceField`` / ``UploadReferencesField`` for models;
- :mod:`.picture`: the ``<picture>`` markup of a completed upload.
"""

from realtime_uploads.forms.binding import UploadAdminMixin, UploadFormMixin, bind_request
from realtime_uploads.forms.fields import UploadField
from realtime_uploads.forms.widgets import UploadWidget, ids_of

__all__ = ["UploadAdminMixin", "UploadField", "UploadFormMixin", "UploadWidget", "bind_request", "ids_of"]
