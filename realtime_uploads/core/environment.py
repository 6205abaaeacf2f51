"""Settings from the environment: ``REALTIME_UPLOADS_<KEY>`` variables, parsed against the one table.

The names are those of ``REALTIME_UPLOADS`` with a ``REALTIME_UPLOADS_``
prefix (``REALTIME_UPLOADS_MAX_SIZE``); the exception is the secret list,
``REALTIME_UPLOADS_CALLBACK_SECRET`` (comma-separated, first signs). Lists are
comma-separated, ``REALTIME_UPLOADS_VARIANTS`` is JSON, ``none`` turns an
optional value off. The demo project (``config/settings.py``) and the
processor (:mod:`realtime_uploads.processing.config`) both read them here, so
the web process and the processor cannot drift apart. No Django import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from realtime_uploads.core.errors import ConfigError, SettingError
from realtime_uploads.core.settings_schema import SETTINGS, check_value

ENV_PREFIX = "REALTIME_UPLOADS_"


def env_name(key: str) -> str:
    """The environment variable of a setting: ``MAX_SIZE`` → ``REALTIME_UPLOADS_MAX_SIZE``."""
    return ENV_PREFIX + ("CALLBACK_SECRET" if key == "CALLBACK_SECRETS" else key)


def env_error(exc: SettingError, environ: Mapping[str, str]) -> ConfigError:
    """``exc`` naming the variables too: those of its keys that are set (with their values), else its own."""
    keys = [key for key in (exc.key, *exc.also) if env_name(key) in environ] or [exc.key]
    named = ", ".join(env_name(key) + ("" if env_name(key) not in environ or SETTINGS[key].secret
                                       else f"={environ[env_name(key)]!r}") for key in keys)
    return ConfigError(f"{named}: {exc}")


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings given in ``environ`` (every key, as ``REALTIME_UPLOADS_<KEY>``), parsed; absent ones omitted.

    Values are parsed (ints, floats, comma-separated lists, ``VARIANTS`` as
    JSON, ``none`` for an optional value) and each is checked on its own
    (settings_schema.check_value); they are returned as parsed, not
    normalised, so a project may still edit them. Raises ConfigError naming
    the variable and the key whose value does not parse or is out of range.
    """
    values: dict[str, Any] = {}
    for key, setting in SETTINGS.items():
        name = env_name(key)
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        try:
            value = setting.kind.parse(raw)
        except ValueError as exc:
            shown = "" if setting.secret else f"={raw!r}"
            raise ConfigError(f"{name}{shown} (REALTIME_UPLOADS[{key!r}]) does not parse: {exc}") from exc
        try:
            check_value(key, value)
        except SettingError as exc:
            raise env_error(exc, environ) from exc
        values[key] = value
    return values
