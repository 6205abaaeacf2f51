"""Template tags that build variant URLs at render time: ``{% load realtime_uploads %}``.

``{{ profile.photo|variant_url:"thumb" }}`` gives one URL ("" when there is no
such variant); ``{% with urls=profile.photo|variant_urls %}`` gives them all
as ``{name: URL}``. See :mod:`realtime_uploads.forms.model_fields`.

``{% upload_picture profile.photo sizes="(max-width: 40rem) 100vw, 40rem" alt="Beach" variants="thumb,large"
class="photo" %}`` gives the whole ``<picture>``: a ``<source>`` per modern format (AVIF, WebP) and an
``<img>`` with the fallback files, the same markup as the browser client's ``pictureHTML`` (see
:mod:`realtime_uploads.forms.picture`); "" for None or an upload without usable variants. Every option is
optional; ``variants`` (comma-separated names) defaults to all of the upload's.
"""

from django import template
from django.utils.safestring import mark_safe

from realtime_uploads.forms import model_fields
from realtime_uploads.forms.picture import picture_html
from realtime_uploads.state.events import upload_event

register = template.Library()


@register.filter
def variant_url(upload, name: str) -> str:
    """The URL of ``upload``'s variant ``name``, or "" (no upload, no such variant)."""
    return model_fields.variant_url(upload, name) or ""


@register.filter
def variant_urls(upload) -> dict[str, str]:
    """``{variant name: URL}`` of ``upload`` ({} for none)."""
    return model_fields.variant_urls(upload)


def _text(value, default=None):
    """A tag argument as text (lazy translations included); ``default`` for None."""
    return default if value is None else str(value)


@register.simple_tag
def upload_picture(upload, sizes=None, alt="", variants=None, **options) -> str:
    """The ``<picture>`` of ``upload`` (an Upload, or None: ""), its variant URLs built now, like ``variant_url``.

    ``class`` sets the <picture>'s class; ``variants`` is a comma-separated list of names (default all).
    One query for the variants unless they are prefetched.
    """
    unknown = set(options) - {"class"}
    if unknown:
        raise template.TemplateSyntaxError(
            f"upload_picture got unknown argument(s) {', '.join(sorted(unknown))}: use sizes, alt, variants, class.")
    if upload is None:
        return ""
    if isinstance(variants, str):
        variants = [name.strip() for name in variants.split(",") if name.strip()] or None
    elif variants is not None:
        variants = [str(name) for name in variants]
    html = picture_html(upload_event(upload), sizes=_text(sizes), alt=_text(alt, ""), variants=variants,
                        class_name=_text(options.get("class")))
    return mark_safe(html)  # noqa: S308 - picture_html escapes every value and drops unsafe URLs
