"""System checks that originals stay private: E020 (served by the URLconf), W020 (inside MEDIA_ROOT/STATIC_ROOT).

Originals keep what the browser sent, EXIF and GPS included; only variants
(re-encoded, without metadata) are public by URL. The local backend keeps
both in its own folder (``REALTIME_UPLOADS["LOCAL_ROOT"]``) and the app serves
only the variants. What can be seen from the settings is checked here:

- E020: a URL pattern of ``ROOT_URLCONF`` serves a folder (a view given a
  ``document_root``, as ``django.conf.urls.static.static()`` adds under
  DEBUG) that holds the originals, or lies inside them;
- W020: the originals lie inside ``MEDIA_ROOT`` or ``STATIC_ROOT``, which a
  web server in front of Django (nginx ``alias``) commonly serves whole.

What cannot be seen (a web server serving ``LOCAL_ROOT``, a CDN serving a
whole bucket rather than ``VARIANT_PREFIX``) is listed in SECURITY.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver

from realtime_uploads.conf import uploads_settings
from realtime_uploads.storage import backend_class
from realtime_uploads.storage.local import LocalBackend, local_root


def _inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (both made absolute, symbolic links resolved)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def served_folders(patterns, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(route, absolute document_root)`` of every URL pattern in ``patterns`` (resolvers walked) whose view
    is given a ``document_root``: ``django.views.static.serve`` as ``static()`` adds it, or any view like it."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from served_folders(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and pattern.default_args.get("document_root") is not None:
            # "" is the working directory to serve() (MEDIA_ROOT unset): the whole project folder.
            yield prefix + str(pattern.pattern), os.path.abspath(os.fspath(pattern.default_args["document_root"]))


def originals_folder() -> str | None:
    """The folder holding the local backend's originals (``LOCAL_ROOT`` + ``KEY_PREFIX``), or None when the
    backend is not the local one (S3 keeps them in the bucket, private)."""
    try:
        if not issubclass(backend_class(), LocalBackend):
            return None
        return os.path.join(local_root(), uploads_settings.KEY_PREFIX)
    except ImproperlyConfigured:  # E001 / E005 say what is wrong
        return None


@register()
def check_originals_private(app_configs, **kwargs):
    """E020 the URLconf serves the local backend's originals; W020 they are inside MEDIA_ROOT/STATIC_ROOT."""
    originals = originals_folder()
    if originals is None:
        return []
    messages = []
    try:
        routes = list(served_folders(get_resolver().url_patterns))
    except Exception:  # noqa: BLE001 - a URLconf that does not import is Django's own check (urls.E*)
        routes = []
    for route, folder in routes:
        if _inside(originals, folder) or _inside(folder, originals):
            messages.append(Error(
                f"The URL pattern {route!r} serves {folder}, which holds the local backend's originals "
                f"({originals}): anyone could download them with their EXIF and GPS metadata.",
                hint="Remove that pattern (the app serves the variants itself, under its own URLs), or move "
                     "REALTIME_UPLOADS['LOCAL_ROOT'] out of the folder it serves.",
                id="realtime_uploads.E020",
            ))
    for name in ("MEDIA_ROOT", "STATIC_ROOT"):
        folder = getattr(settings, name, None)
        if folder and _inside(originals, os.fspath(folder)):
            messages.append(Warning(
                f"The local backend keeps originals in {originals}, inside {name} ({os.fspath(folder)}): a web "
                f"server that serves {name} would hand them out with their EXIF and GPS metadata.",
                hint=f"Set REALTIME_UPLOADS['LOCAL_ROOT'] to a folder outside {name} (the default, "
                     "<BASE_DIR>/.realtime_uploads, is).",
                id="realtime_uploads.W020",
            ))
    return messages
