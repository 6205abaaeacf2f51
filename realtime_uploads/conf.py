"""The app's settings: one ``REALTIME_UPLOADS`` dict, read through ``uploads_settings``.

Every key, its default, range and meaning is in one Django-free table,
:data:`realtime_uploads.core.settings_schema.SETTINGS`, which the
processor (Lambda, the SQS worker) validates with too; a project overrides
only what it needs::

    REALTIME_UPLOADS = {
        "BACKEND": "s3",
        "BUCKET": "my-uploads",
        "CALLBACK_SECRETS": [os.environ["REALTIME_UPLOADS_CALLBACK_SECRET"]],
        "VARIANTS": {"thumb": {"width": 320, "height": 320, "format": "WEBP"}},
    }

(``docs/settings.md`` lists every key.)
Unknown keys and bad values raise ``ImproperlyConfigured`` naming the key, the
first time any setting is read. The validated values are cached and the cache
is cleared on Django's ``setting_changed`` signal (``override_settings``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from realtime_uploads.core import settings_schema
from realtime_uploads.core.errors import SettingError
from realtime_uploads.core.settings_schema import SETTINGS

#: Every key's default, from settings_schema.SETTINGS (the processor's are
#: realtime_uploads.processing.config.PROCESSOR_DEFAULTS).
DEFAULTS: dict[str, Any] = dict(settings_schema.DEFAULTS)


def validate(values: Any) -> dict[str, Any]:
    """``REALTIME_UPLOADS`` checked and completed with defaults. Raises ImproperlyConfigured naming the key."""
    try:
        checked = settings_schema.validate(values)
    except SettingError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    _check_django(checked)
    return checked


def _check_django(values: dict[str, Any]) -> None:
    from django.conf import settings

    caches = getattr(settings, "CACHES", None) or {"default": {}}
    if values["THROTTLE_CACHE"] not in caches:
        raise ImproperlyConfigured(
            f"REALTIME_UPLOADS['THROTTLE_CACHE'] must name one of CACHES {sorted(caches)}, "
            f"got {values['THROTTLE_CACHE']!r}."
        )


class UploadsSettings:
    """Attribute access to the validated ``REALTIME_UPLOADS`` settings.

    ``uploads_settings.MAX_SIZE`` gives the project's value or the default.
    ``VARIANTS`` is a tuple of :class:`~realtime_uploads.core.variants.VariantSpec`;
    list settings are tuples.
    """

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        from django.conf import settings

        return validate(getattr(settings, "REALTIME_UPLOADS", {}))

    def __getattr__(self, name: str) -> Any:
        if name not in SETTINGS:
            raise AttributeError(f"Invalid REALTIME_UPLOADS setting: {name!r}")
        if self._cache is None:
            self._cache = self._load()
        return self._cache[name]

    def max_body_size(self) -> int:
        """The largest request body the web process takes, bytes: MAX_BODY_SIZE, or MAX_SIZE + 64 KiB."""
        return settings_schema.max_body_size({"MAX_BODY_SIZE": self.MAX_BODY_SIZE, "MAX_SIZE": self.MAX_SIZE})

    def reload(self) -> None:
        """Forget the cached values; the next read validates the settings again."""
        self._cache = None


uploads_settings = UploadsSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in ("REALTIME_UPLOADS", "CACHES"):
        uploads_settings.reload()


setting_changed.connect(_reload)
