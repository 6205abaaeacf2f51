"""System checks: ``manage.py check`` (E001–E005 and E030–E031, here; E020/W020, :mod:`.originals`) and
``check --deploy`` (:mod:`.deploy`).

Each names the setting to fix. The deploy errors are Errors, not Warnings,
so ``manage.py check --deploy`` exits non-zero on any of them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured
from django.http.request import split_domain_port, validate_host
from django.utils.module_loading import import_string

from realtime_uploads.checks import (
    deploy,  # noqa: F401 - registers the deploy checks
    originals,  # noqa: F401 - registers E020/W020 (originals stay private)
    project,  # noqa: F401 - registers E010-E011, W012, W013, E110-E111 (the project)
)
from realtime_uploads.conf import uploads_settings
from realtime_uploads.storage import backend_class


@register()
def check_settings(app_configs, **kwargs):
    """E001 invalid settings, E002 no callback secret, E003 no channel layer, E004 callback host refused,
    E005 a BACKEND that does not import."""
    try:
        uploads_settings.reload()
        secrets = uploads_settings.CALLBACK_SECRETS
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="realtime_uploads.E001")]
    errors = []
    try:
        backend = backend_class()
    except ImproperlyConfigured as exc:
        backend = None
        errors.append(Error(str(exc), hint='Use "local", "s3", or the dotted path of a StorageBackend subclass.',
                            id="realtime_uploads.E005"))
    if not secrets:
        errors.append(Error(
            "REALTIME_UPLOADS['CALLBACK_SECRETS'] is empty, so every processing callback will be refused.",
            hint="Set it to a list holding at least one long random secret shared with the processor.",
            id="realtime_uploads.E002",
        ))
    if backend is not None and backend.in_process and not _callback_host_allowed():
        errors.append(Error(
            "REALTIME_UPLOADS['CALLBACK_URL'] points at a host that ALLOWED_HOSTS refuses, so the local "
            "backend's processor cannot report back and every upload would stay pending.",
            hint="Add the CALLBACK_URL's host (e.g. 127.0.0.1) to ALLOWED_HOSTS, or fix CALLBACK_URL.",
            id="realtime_uploads.E004",
        ))
    if hasattr(settings, "CHANNEL_LAYERS") and not settings.CHANNEL_LAYERS:  # unset: conf's in-memory default
        errors.append(Error(
            "CHANNEL_LAYERS is not configured, so no upload event can reach a WebSocket.",
            hint="Use realtime_uploads.push.layer_settings.channel_layer_settings(REDIS_URL) "
                 "(or InMemoryChannelLayer for one process).",
            id="realtime_uploads.E003",
        ))
    return errors


@register()
def check_presign(app_configs, **kwargs):
    """E030 ``MAX_BATCH_FILES`` above ``MAX_PENDING_PER_CLIENT``, E031 a ``PERMISSION_CLASSES`` entry that
    does not import."""
    try:
        batch, pending = uploads_settings.MAX_BATCH_FILES, uploads_settings.MAX_PENDING_PER_CLIENT
        permissions = uploads_settings.PERMISSION_CLASSES
    except ImproperlyConfigured:
        return []  # E001
    errors = []
    if pending is not None and batch > pending:
        errors.append(Error(
            f"REALTIME_UPLOADS['MAX_BATCH_FILES'] ({batch}) is larger than REALTIME_UPLOADS"
            f"['MAX_PENDING_PER_CLIENT'] ({pending}): a full batch is refused whole (429 too_many_pending) "
            "even when nothing else is pending.",
            hint=f"Set MAX_BATCH_FILES to at most {pending}, or raise MAX_PENDING_PER_CLIENT (None: no cap).",
            id="realtime_uploads.E030"))
    for path in permissions:
        try:
            import_string(path)
        except ImportError as exc:
            errors.append(Error(
                f"REALTIME_UPLOADS['PERMISSION_CLASSES'] names {path!r}, which does not import ({exc}): every "
                "presign would fail.",
                hint='Name DRF permission classes by dotted path: "rest_framework.permissions.IsAuthenticated".',
                id="realtime_uploads.E031"))
    return errors


def _callback_host_allowed() -> bool:
    host = urlsplit(uploads_settings.CALLBACK_URL).netloc
    domain, _port = split_domain_port(host)
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # Django's own DEBUG default
    return validate_host(domain, allowed)
