"""The demo page: the app's limits come from its settings, never copied into the template."""

from django.shortcuts import render

from realtime_uploads.conf import uploads_settings

FORMAT_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP", "image/gif": "GIF",
                "image/avif": "AVIF", "image/heic": "HEIC", "image/heif": "HEIF"}

#: Types some browsers do not map to their extensions in a file picker's ``accept`` (a phone's
#: IMG_0001.HEIC greyed out although image/heic is listed): the extensions are listed too.
ACCEPT_EXTENSIONS = {"image/avif": ".avif", "image/heic": ".heic", "image/heif": ".heif"}


def human_size(size: int) -> str:
    """Bytes as people read them (binary units, as file managers show them): 10485760 -> "10 MB"."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            text = f"{size:.1f}".rstrip("0").rstrip(".") if unit != "bytes" else str(int(size))
            return f"{text} {unit}"
        size /= 1024
    raise AssertionError  # pragma: no cover


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def accept_attribute(types: list[str]) -> str:
    """The file input's ``accept``: every allowed type, then the extensions of those browsers may not map.

    ``["image/jpeg", "image/heic"]`` -> ``"image/jpeg,image/heic,.heic"``.
    """
    extensions = [ACCEPT_EXTENSIONS[t] for t in types if t in ACCEPT_EXTENSIONS]
    return ",".join([*types, *extensions])


def demo(request):
    """``GET /``: the upload page, with the accepted formats and size limit stated before choosing."""
    types = list(uploads_settings.ALLOWED_CONTENT_TYPES)
    names = [FORMAT_NAMES.get(t, t.split("/")[-1].upper()) for t in types]
    limits = {"maxSize": uploads_settings.MAX_SIZE, "contentTypes": types, "formatNames": names}
    # A session from the first visit: the page's socket then follows this browser's history (other tabs'
    # uploads, live) from its first handshake, instead of reconnecting after the first upload starts one.
    request.session.setdefault("realtime_uploads", True)
    return render(request, "demo.html", {
        "limits": limits, "accept": accept_attribute(types), "formats": _either(names),
        "max_size": human_size(uploads_settings.MAX_SIZE),
    })
