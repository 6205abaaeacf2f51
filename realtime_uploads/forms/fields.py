"""``UploadField``: a form field that takes uploads the browser already made.

The browser uploads straight to storage (``static/realtime_uploads/forms.js``
enhances the widget's ``<input type="file" data-realtime-uploads>``) and the
form posts only references in a hidden input: comma-separated items, each an
upload id or ``<id>:<subscribe token>`` (the token as the presign answer gave
it). The field accepts an id only if the upload exists, the requesting user
owns it or its token is valid, and it is ``completed``; its cleaned value is
the :class:`~realtime_uploads.models.Upload` (a list with ``multiple=True``).

The field needs the request's user: build the form with ``request=`` through
:class:`~realtime_uploads.forms.binding.UploadFormMixin` (or call
:func:`~realtime_uploads.forms.binding.bind_request`). Ids the form was
given as initial data (an edited instance's current upload) are accepted
again without the ownership check, so a staff member can save someone else's
object unchanged.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError

from realtime_uploads.conf import uploads_settings
from realtime_uploads.forms.widgets import NEEDS_JAVASCRIPT, UploadWidget, as_items, id_of, ids_of
from realtime_uploads.models import Status, Upload
from realtime_uploads.state.access import check_subscribe_token, is_owner
from realtime_uploads.state.selectors import uploads_by_id

#: Default cap on the uploads one ``multiple`` field takes.
MAX_UPLOADS = 100


class UploadField(forms.Field):
    """Upload references in, :class:`Upload` instances out (a list of them with ``multiple=True``).

    ``max_uploads`` caps how many (``multiple`` only; default :data:`MAX_UPLOADS`, counted before any
    query, so a posted list of thousands costs nothing); ``accept_tokens=False``
    accepts only the signed-in owner's uploads. Raises ``ValidationError``
    with one of the codes in :attr:`default_error_messages`; raises
    ``ImproperlyConfigured`` if cleaned without a request (see the module doc).
    """

    widget = UploadWidget
    default_error_messages = {
        "malformed": "“%(value)s” is not an upload id.",
        "unknown": "There is no upload %(id)s.",
        "not_yours": "Upload %(id)s is not yours: it belongs to someone else and no valid token came with it.",
        "bad_token": "The token sent with upload %(id)s is not valid or has expired (tokens last "
                     "%(max_age)s seconds); choose the file again.",
        "not_finished": "“%(filename)s” is not ready yet (it is %(status)s); wait until it is processed.",
        "failed": "“%(filename)s” could not be processed: %(message)s",
        "expired": "“%(filename)s” never arrived before its upload link expired; choose the file again.",
        "cancelled": "The upload of “%(filename)s” was cancelled; choose the file again.",
        "too_many": "At most %(max)s uploads are accepted here, got %(count)s.",
        "only_one": "Only one upload is accepted here, got %(count)s.",
        "needs_javascript": "The file was sent with the form instead of being uploaded first: this field "
                            "needs JavaScript. Enable it and choose the file again.",
    }

    def __init__(self, *, multiple: bool = False, max_uploads: int = MAX_UPLOADS, accept_tokens: bool = True,
                 **kwargs):
        self.multiple = multiple
        self.max_uploads = max_uploads
        self.accept_tokens = accept_tokens
        self.request = None
        self.initial_ids: set[str] = set()
        kwargs.setdefault("widget", UploadWidget(multiple=multiple))
        super().__init__(**kwargs)
        self.widget.multiple = multiple

    def bind(self, *, request: Any, initial: Any = None) -> None:
        """Give the field the request (its ``user`` is checked) and the ids it may accept again unchecked."""
        self.request = request
        self.initial_ids = ids_of(initial)
        self.widget.trusted_ids = set(self.initial_ids)

    def to_python(self, value: Any) -> list[tuple[str, str | None]]:
        """``[(raw id, token or None), ...]``: the posted text split, not yet checked."""
        if value is NEEDS_JAVASCRIPT:
            raise ValidationError(self.error_messages["needs_javascript"], code="needs_javascript")
        pairs = []
        for item in as_items(value):
            if isinstance(item, str):
                raw, _, token = item.partition(":")
                pairs.append((raw, token or None))
            else:
                pairs.append((id_of(item), None))
        return list(dict.fromkeys(pairs))  # a repeated item counts once

    def clean(self, value: Any):
        pairs = self.to_python(value)
        self.validate(pairs)
        count = len({raw for raw, _ in pairs})
        if not self.multiple and count > 1:
            raise ValidationError(self.error_messages["only_one"], code="only_one", params={"count": count})
        if self.multiple and count > self.max_uploads:
            raise ValidationError(self.error_messages["too_many"], code="too_many",
                                  params={"max": self.max_uploads, "count": count})
        uploads = self._resolve(pairs)
        self.widget.trusted_ids |= {str(u.pk) for u in uploads}
        if self.multiple:
            return uploads
        return uploads[0] if uploads else None

    def _resolve(self, pairs: list[tuple[str, str | None]]) -> list[Upload]:
        if self.request is None:
            raise ImproperlyConfigured(
                "UploadField needs the request to know whose uploads to accept: build the form with "
                "request=request (UploadFormMixin) or call realtime_uploads.forms.bind_request(form, request)."
            )
        errors, parsed = [], []
        for raw, token in pairs:
            try:
                parsed.append((uuid.UUID(raw), token))
            except ValueError:
                errors.append(ValidationError(self.error_messages["malformed"], code="malformed",
                                              params={"value": raw[:64]}))
        found = uploads_by_id(pk for pk, _ in parsed)
        uploads: dict[uuid.UUID, Upload] = {}
        for pk, token in parsed:
            upload = found.get(pk)
            error = self._refusal(pk, upload, token)
            if error:
                errors.append(error)
            elif upload is not None:
                uploads[pk] = upload
        if errors:
            raise ValidationError(errors)
        return list(uploads.values())

    def _refusal(self, pk: uuid.UUID, upload: Upload | None, token: str | None) -> ValidationError | None:
        """Why ``upload`` may not be taken, or None. Authorisation first: nothing is said of others' uploads."""
        msg = self.error_messages
        if upload is None:
            return ValidationError(msg["unknown"], code="unknown", params={"id": pk})
        if str(pk) in self.initial_ids:
            return None  # already attached: saving unchanged is always allowed
        user = getattr(self.request, "user", None)
        if not is_owner(user, upload.owner_id):
            if not self.accept_tokens or not token:
                return ValidationError(msg["not_yours"], code="not_yours", params={"id": pk})
            if not check_subscribe_token(token, str(pk)):
                return ValidationError(msg["bad_token"], code="bad_token",
                                       params={"id": pk, "max_age": uploads_settings.SUBSCRIBE_TOKEN_MAX_AGE})
        params = {"filename": upload.filename, "status": upload.status, "message": upload.error_message}
        if upload.status == Status.FAILED:
            params["message"] = upload.error_message or upload.error_code or "unknown error"
            return ValidationError(msg["failed"], code="failed", params=params)
        if upload.status == Status.EXPIRED:
            return ValidationError(msg["expired"], code="expired", params=params)
        if upload.status == Status.CANCELLED:
            return ValidationError(msg["cancelled"], code="cancelled", params=params)
        if upload.status != Status.COMPLETED:
            return ValidationError(msg["not_finished"], code="not_finished", params=params)
        return None

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        return ids_of(initial) != ids_of(data) or data is NEEDS_JAVASCRIPT
