"""The ``<picture>`` of a completed upload's event, as markup: the server's twin of ``pictureHTML``.

:func:`picture_html` returns exactly what ``pictureHTML(event, options)`` of
``static/realtime_uploads/picture.js`` returns for the same event and options
(rules 1-6 at the top of that file, contract 0.2 "<picture>"), "" where it
returns null. For the contract's default variants (thumb [AVIF, WEBP], large
[AVIF, JPEG]), ``sizes="50vw"``, ``alt="Beach"`` and a colour (one line)::

    <picture><source type="image/avif" srcset="/m/thumb.avif 320w, /m/large.avif 1280w" sizes="50vw">
    <img src="/m/large.jpg" srcset="/m/thumb.webp 320w, /m/large.jpg 1280w" sizes="50vw" width="1280"
    height="960" alt="Beach" loading="lazy" decoding="async" style="background-color: #336699"></picture>

- one ``<source type srcset [sizes]>`` per format every chosen variant has, except a format that is the
  fallback of every chosen variant, in the order of the first chosen variant's ``formats``; its
  ``srcset`` is ``"<url> <width>w"`` of each chosen variant, joined ", ";
- the ``<img>``: ``src`` the fallback of the widest chosen variant (the first of equal widths), ``srcset``
  every chosen variant's fallback, ``width``/``height`` the widest's, ``alt``, ``loading="lazy"``,
  ``decoding="async"``, ``style="background-color: #rrggbb"`` when the event's ``color`` is one;
- URLs other than http:, https: or relative ones, or with whitespace or control characters, are dropped
  (never escaped into place); attribute values are escaped as Django's ``escape()`` does.

The browser picks the first ``<source>`` whose ``type`` it supports, then a file from that source's (or
the img's) ``srcset`` by the ``w`` descriptors and ``sizes``: HTML Living Standard, "4.8.1 The picture
element" (https://html.spec.whatwg.org/multipage/embedded-content.html#the-picture-element) and "srcset"
(https://html.spec.whatwg.org/multipage/images.html#srcset-attributes).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

#: Output format name -> MIME type (FORMAT_TYPES of picture.js).
FORMAT_TYPES = {"AVIF": "image/avif", "WEBP": "image/webp", "JPEG": "image/jpeg", "PNG": "image/png",
                "GIF": "image/gif"}

# ASCII classes written out, never re.IGNORECASE: Python's [a-z] with it also matches "K" (Kelvin) and "ſ",
# JavaScript's /i without /u does not. fullmatch, never "$": Python's "$" also matches before a final "\n".
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_TYPE = re.compile(r"[Ii][Mm][Aa][Gg][Ee]/[A-Za-z0-9.+-]+")
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")


def _js_string(value: Any) -> str:
    """JavaScript's ``String(value ?? "")`` for what JSON can hold (used for format and variant names)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "[object Object]"
    if isinstance(value, Sequence):
        return ",".join(_js_string(v) for v in value)
    return str(value)


def _js_integer(value: Any) -> str | None:
    """A positive ``Number.isInteger`` value as JavaScript's ``String()`` writes it, else None.

    JSON numbers are doubles in the browser: 2**60 reads as 1152921504606846976 and is written
    "1152921504606847000", 1e21 and over in exponent form ("1e+21"), as Python's repr of the float.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # past the largest double: Infinity in the browser, not an integer
        return None
    if not math.isfinite(number) or not number.is_integer() or number <= 0:
        return None
    text = repr(number)
    return text if number >= 1e21 else str(int(Decimal(text)))


def safe_url(url: Any) -> str | None:
    """``url`` when it may go into src or srcset (rule 5: http:, https: or relative, no whitespace or
    control character), else None."""
    if not isinstance(url, str) or not url or _UNSAFE.search(url):
        return None
    scheme = _SCHEME.match(url)
    return url if scheme is None or scheme.group(1).lower() in ("http", "https") else None


def _format_name(format: Any) -> str:
    name = _js_string(format).upper()
    return "JPEG" if name == "JPG" else name


def _format_entry(entry: Any) -> dict[str, str] | None:
    if not isinstance(entry, Mapping):
        return None
    name = _format_name(entry.get("format"))
    own = entry.get("type")
    typed = own.lower() if isinstance(own, str) and _TYPE.fullmatch(own) else None
    type_ = FORMAT_TYPES.get(name) or typed
    url = safe_url(entry.get("url"))
    return {"format": name, "type": type_, "url": url} if name and type_ and url else None


def normalise_variants(variants: Any) -> list[dict[str, Any]]:
    """The usable variants of an event (rule 1): ``{name, width, height, fallback, formats}``, ``width`` and
    ``height`` (or None) as written, ``formats`` a dict of format name -> entry in order of preference."""
    out = []
    for v in variants if isinstance(variants, list | tuple) else []:
        if not isinstance(v, Mapping) or not isinstance(v.get("name"), str):
            continue
        width = _js_integer(v.get("width"))
        fallback = _format_entry(v)
        if width is None or fallback is None:
            continue
        listed = v.get("formats")
        listed = listed if isinstance(listed, list | tuple) and listed else [v]
        formats: dict[str, dict[str, str]] = {}
        for entry in map(_format_entry, listed):
            if entry is not None and entry["format"] not in formats:
                formats[entry["format"]] = entry
        formats.setdefault(fallback["format"], fallback)
        out.append({"name": v["name"], "width": width, "number": float(v["width"]),
                    "height": _js_integer(v.get("height")), "fallback": fallback, "formats": formats})
    return out


def _srcset(chosen: list[dict[str, Any]], format: str | None = None) -> str:
    files = ((v["formats"].get(format, {}).get("url") if format else v["fallback"]["url"], v["width"])
             for v in chosen)
    return ", ".join(f"{url} {width}w" for url, width in files if url)


def _tag(name: str, attrs: Iterable[tuple[str, Any]]) -> str:
    return f"<{name}" + "".join(f' {k}="{html.escape(str(v))}"' for k, v in attrs if v is not None) + ">"


def picture_html(event: Any, *, sizes: Any = None, alt: Any = "", variants: Any = None,
                 class_name: Any = None) -> str:
    """The ``<picture>`` markup of a completed ``event`` (see the module docstring); "" when it has no
    usable variant.

    ``sizes``: the sizes attribute (none unless a non-empty str: the browser then assumes 100vw);
    ``alt``: the img's text alternative (a non-str is ""); ``variants``: names of the variants to use,
    a list or a comma-separated str (always in the event's order; default all of them);
    ``class_name``: the class of the <picture> (none unless a non-empty str).
    """
    if isinstance(variants, str):
        variants = variants.split(",")
    names = {_js_string(n) for n in variants} if isinstance(variants, list | tuple | set | frozenset) else None
    usable = normalise_variants(event.get("variants") if isinstance(event, Mapping) else None)
    chosen = [v for v in usable if names is None or v["name"] in names]
    if not chosen:
        return ""
    sizes = sizes if isinstance(sizes, str) and sizes else None
    sources = [
        _tag("source", [("type", entry["type"]), ("srcset", _srcset(chosen, format)), ("sizes", sizes)])
        for format, entry in chosen[0]["formats"].items()
        if all(format in v["formats"] for v in chosen) and not all(v["fallback"]["format"] == format for v in chosen)
    ]
    widest = chosen[0]
    for v in chosen[1:]:
        if v["number"] > widest["number"]:
            widest = v
    color = event.get("color")
    style = f"background-color: {color.lower()}" if isinstance(color, str) and _COLOR.fullmatch(color) else None
    img = _tag("img", [
        ("src", widest["fallback"]["url"]), ("srcset", _srcset(chosen)), ("sizes", sizes),
        ("width", widest["width"]), ("height", widest["height"]), ("alt", alt if isinstance(alt, str) else ""),
        ("loading", "lazy"), ("decoding", "async"), ("style", style),
    ])
    picture = _tag("picture", [("class", class_name if isinstance(class_name, str) and class_name else None)])
    return f"{picture}{''.join(sources)}{img}</picture>"
