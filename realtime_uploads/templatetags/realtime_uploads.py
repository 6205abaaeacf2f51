"""Template filters that build variant URLs at render time: ``{% load realtime_uploads %}``.

``{{ profile.photo|variant_url:"thumb" }}`` gives one URL ("" when there is no
such variant); ``{% with urls=profile.photo|variant_urls %}`` gives them all
as ``{name: URL}``. See :mod:`realtime_uploads.fields`.
"""

from django import template

from .. import fields

register = template.Library()


@register.filter
def variant_url(upload, name: str) -> str:
    """The URL of ``upload``'s variant ``name``, or "" (no upload, no such variant)."""
    return fields.variant_url(upload, name) or ""


@register.filter
def variant_urls(upload) -> dict[str, str]:
    """``{variant name: URL}`` of ``upload`` ({} for none)."""
    return fields.variant_urls(upload)
