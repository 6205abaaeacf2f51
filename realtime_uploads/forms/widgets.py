"""UploadWidget: the hidden input of upload references and the file input forms.js enhances.

The posted value is comma-separated items, each an upload id or
``<id>:<subscribe token>``; :func:`ids_of` reads the ids out of it (or out of
an Upload, a UUID, a list of them). :class:`~realtime_uploads.forms.UploadField`
checks them.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse

from realtime_uploads.conf import uploads_settings
from realtime_uploads.models import Upload
from realtime_uploads.state.selectors import uploads_by_id
from realtime_uploads.storage import get_backend

#: Suffix of the plain file input's name; a value under it means the file came with the form (no JavaScript).
FILE_SUFFIX = "__file"
#: The widget's stylesheet (a static path), linked by its Media.
STYLESHEET = "realtime_uploads/realtime-uploads.css"


def id_of(value: Any) -> str:
    """The canonical id string of an Upload, a UUID, or an id string (unchecked)."""
    return str(value.pk if isinstance(value, Upload) else value)


def as_items(value: Any) -> list:
    """``value`` as a list of items: posted text split on commas and spaces, one object wrapped, None empty."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [item for item in value.replace(" ", ",").split(",") if item]
    if isinstance(value, (list, tuple, set)) or hasattr(value, "__iter__") and not isinstance(value, Upload):
        return list(value)
    return [value]


def ordered_ids(value: Any) -> list[str]:
    """Canonical id strings in ``value`` (as :func:`ids_of`), in the order given, each once."""
    out: dict[str, None] = {}
    for item in as_items(value):
        raw = item.split(":", 1)[0] if isinstance(item, str) else id_of(item)
        try:
            out[str(uuid.UUID(raw))] = None
        except ValueError:
            continue
    return list(out)


def ids_of(value: Any) -> set[str]:
    """Canonical id strings in ``value`` (an Upload, a UUID, a posted string, or a list of those); bad ones skipped."""
    return set(ordered_ids(value))


class UploadWidget(forms.Widget):
    """A hidden input of upload references plus the ``<input type="file" data-realtime-uploads>`` forms.js enhances.

    Without JavaScript the file input stays a plain one (named ``<name>__file``)
    under a ``<noscript>`` note; a file sent that way is refused by the field
    with code ``needs_javascript``. ``attrs`` go on the file input (``accept``
    defaults to ``ALLOWED_CONTENT_TYPES``); ``presign_url`` defaults to where
    the API is mounted (``realtime_uploads:upload-create``). The list under the input shows only
    uploads the form has vouched for (initial or accepted), never names of ids
    someone merely posted, in the order of the value (a gallery's order).

    The markup is phrasing content only (``<span>`` with ``role="list"`` /
    ``"listitem"`` / ``"status"``, inputs, images), so it is valid HTML inside
    the ``<p>`` of ``form.as_p()`` as well as in ``as_div()`` and ``as_table()``.
    """

    template_name = "realtime_uploads/widgets/upload.html"

    def __init__(self, attrs=None, *, multiple: bool = False, presign_url: str | None = None):
        super().__init__(attrs)
        self.multiple = multiple
        self.presign_url = presign_url
        #: Ids whose file name and thumbnail may be shown (set by UploadField).
        self.trusted_ids: set[str] = set()

    @property
    def media(self):
        """forms.js (a module script) and the widget's stylesheet, ``realtime-uploads.css`` (themable with
        ``--realtime-uploads-*`` custom properties, docs/forms.md): ``{{ form.media }}`` brings both."""
        return forms.Media(css={"all": [STYLESHEET]},
                           js=[forms.Script(static("realtime_uploads/forms.js"), type="module")])

    def format_value(self, value: Any) -> str:
        if isinstance(value, str):
            return value  # posted text: kept as is, tokens included, so a re-render loses nothing
        return ",".join(id_of(item) for item in as_items(value))

    def value_from_datadict(self, data, files, name):
        value = data.get(name, "")
        if not value and (files.get(name + FILE_SUFFIX) or data.get(name + FILE_SUFFIX)):
            return NEEDS_JAVASCRIPT
        return value

    def value_omitted_from_data(self, data, files, name):
        return name not in data and name + FILE_SUFFIX not in data and name + FILE_SUFFIX not in files

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        widget["file_name"] = name + FILE_SUFFIX
        widget["multiple"] = self.multiple
        widget["presign_url"] = self.presign_url or _presign_url()
        widget["attrs"].setdefault("accept", ",".join(uploads_settings.ALLOWED_CONTENT_TYPES))
        widget["max_size"] = uploads_settings.MAX_SIZE
        if value is NEEDS_JAVASCRIPT:
            widget["value"] = ""
        shown = [pk for pk in ordered_ids(value) if pk in self.trusted_ids]  # in the value's order (a gallery's)
        found = {str(pk): u for pk, u in uploads_by_id(shown, with_variants=True).items()} if shown else {}
        widget["uploads"] = [_display(found[pk]) for pk in shown if pk in found]
        return context


def _presign_url() -> str:
    """Where the API's presign endpoint is mounted (``realtime_uploads:upload-create``), else the default."""
    try:
        return reverse("realtime_uploads:upload-create")
    except NoReverseMatch:
        return "/api/uploads/"


class _NeedsJavascript(str):
    pass


NEEDS_JAVASCRIPT = _NeedsJavascript("")


def _display(upload: Upload) -> dict[str, Any]:
    variants = sorted(upload.variants.all(), key=lambda v: v.width * v.height)
    return {"id": str(upload.pk), "filename": upload.filename, "status": upload.status,
            "thumbnail": get_backend().variant_url(variants[0].key) if variants else ""}
