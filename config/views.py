"""The demo page: the app's limits come from its settings, never copied into the template."""

from django.shortcuts import render

from realtime_uploads.conf import uploads_settings

FORMAT_NAMES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP", "image/gif": "GIF",
                "image/avif": "AVIF", "image/heic": "HEIC", "image/heif": "HEIF"}


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


def demo(request):
    """``GET /``: the upload page, with the accepted formats and size limit stated before choosing."""
    types = list(uploads_settings.ALLOWED_CONTENT_TYPES)
    names = [FORMAT_NAMES.get(t, t.split("/")[-1].upper()) for t in types]
    limits = {"maxSize": uploads_settings.MAX_SIZE, "contentTypes": types, "formatNames": names}
    return render(request, "demo.html", {
        "limits": limits, "accept": ",".join(types), "formats": _either(names),
        "max_size": human_size(uploads_settings.MAX_SIZE),
    })
