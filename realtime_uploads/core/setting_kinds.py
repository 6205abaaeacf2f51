"""The kinds of value a setting may hold: each checks a value and parses its environment form.

A kind's :meth:`Kind.check` takes a value as a project writes it in
``REALTIME_UPLOADS`` (or as :meth:`Kind.parse` made it from an environment
variable) and returns the normalised value, or raises :class:`Invalid` with
what the value must be ("must be a whole number >= 1"). The schema
(:mod:`.settings_schema`) adds the key's name. ``check`` accepts its own
output, so validating twice changes nothing. No Django import.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

from realtime_uploads.core.errors import CodecMissing, Invalid
from realtime_uploads.core.formats import (
    CONTENT_TYPE_FORMATS,
    OUTPUT_FORMATS,
    check_input_formats,
    check_output_format,
    formats_for,
)
from realtime_uploads.core.variants import VariantSpec

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


class Kind:
    """Any value; subclasses narrow it. ``parse`` reads the environment form (a non-empty string)."""

    def describe(self) -> str:
        """What values are accepted, in words, for the settings reference."""
        return "any value"

    def check(self, value: Any) -> Any:
        return value

    def parse(self, raw: str) -> Any:
        return raw


def csv(raw: str) -> list[str]:
    """The items of a comma-separated value (an environment variable's list), stripped, empty ones dropped."""
    return [item.strip() for item in raw.split(",") if item.strip()]


class Whole(Kind):
    """An int (not a bool) in ``minimum..maximum``; ``unit`` ("bytes", "seconds") goes in the message."""

    def __init__(self, minimum: int = 1, maximum: int | None = None, unit: str = ""):
        self.minimum, self.maximum, self.unit = minimum, maximum, unit

    def describe(self):
        unit = f" ({self.unit})" if self.unit else ""
        if self.maximum is None:
            return f"whole number ≥ {self.minimum:,}{unit}".replace(",", " ")
        return f"whole number {self.minimum:,} to {self.maximum:,}{unit}".replace(",", " ")

    def check(self, value):
        unit = f" ({self.unit})" if self.unit else ""
        if isinstance(value, bool) or not isinstance(value, int) or value < self.minimum:
            raise Invalid(f"must be a whole number >= {self.minimum}{unit}")
        if self.maximum is not None and value > self.maximum:
            raise Invalid(f"must be a whole number {self.minimum}..{self.maximum}{unit}")
        return value

    def parse(self, raw):
        return int(raw)


class Number(Kind):
    """A finite int or float above ``above``, returned as a float."""

    def __init__(self, above: float = 0.0, unit: str = ""):
        self.above, self.unit = above, unit

    def describe(self):
        return f"number > {self.above:g}" + (f" ({self.unit})" if self.unit else "")

    def check(self, value):
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or value <= self.above):
            unit = f" ({self.unit})" if self.unit else ""
            raise Invalid(f"must be a finite number > {self.above:g}{unit}")
        return float(value)

    def parse(self, raw):
        return float(raw)


class Flag(Kind):
    """True or False; the environment says 1/true/yes/on or 0/false/no/off."""

    def describe(self):
        return "True or False"

    def check(self, value):
        if not isinstance(value, bool):
            raise Invalid("must be True or False")
        return value

    def parse(self, raw):
        word = raw.strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
        raise ValueError("say 1/true/yes/on or 0/false/no/off")


class Choice(Kind):
    """One of ``options`` (strings)."""

    def __init__(self, *options: str):
        self.options = options

    def describe(self):
        return "one of " + ", ".join(f'`"{option}"`' for option in self.options)

    def check(self, value):
        if value not in self.options:
            raise Invalid(f"must be one of {list(self.options)}")
        return value

    def parse(self, raw):
        return raw.strip()


_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


class ImportPath(Kind):
    """A class named by its dotted path (``"myproject.storage.MyBackend"``) or by one of ``aliases``
    (``{short name: dotted path}``), kept as written: :meth:`resolve` gives the dotted path. Importing it is
    the caller's business (the Django side imports the storage backend), so a path that does not import is
    not caught here."""

    def __init__(self, aliases: Mapping[str, str], what: str):
        self.aliases, self.what = dict(aliases), what

    def describe(self):
        return " or ".join(f'`"{alias}"`' for alias in self.aliases) + f", or the dotted path of {self.what}"

    def resolve(self, value: str) -> str:
        """The dotted path of a checked ``value`` (an alias's, or the value itself)."""
        return self.aliases.get(value, value)

    def check(self, value):
        if isinstance(value, str) and value in self.aliases:
            return value
        if not isinstance(value, str) or not _DOTTED.fullmatch(value):
            names = " or ".join(repr(alias) for alias in self.aliases)
            raise Invalid(f"must be {names}, or the dotted path of {self.what} (\"myproject.storage.MyBackend\")")
        return value

    def parse(self, raw):
        return raw.strip()


class ClassPaths(Kind):
    """A list of classes by dotted path (``["rest_framework.permissions.IsAuthenticated"]``), as a tuple of
    strings; importing them is the Django side's business (a system check imports them)."""

    def __init__(self, what: str):
        self.what = what

    def describe(self):
        return f"list of dotted paths of {self.what}"

    def check(self, value):
        if (isinstance(value, str) or not isinstance(value, (list, tuple))
                or not all(isinstance(item, str) and _DOTTED.fullmatch(item) for item in value)):
            raise Invalid(f"must be a list of dotted paths of {self.what} "
                          "([\"rest_framework.permissions.IsAuthenticated\"]), even if there is only one")
        return tuple(value)

    def parse(self, raw):
        return csv(raw)


class Text(Kind):
    """A non-empty string without whitespace or control characters."""

    def describe(self):
        return "text without spaces"

    def check(self, value):
        if not isinstance(value, str) or not value or any(c.isspace() or not c.isprintable() for c in value):
            raise Invalid("must be a non-empty string without spaces")
        return value

    def parse(self, raw):
        return raw.strip()


class Folder(Kind):
    """A folder: a non-empty path (``str`` or ``pathlib.Path``) without control characters, returned as ``str``."""

    def describe(self):
        return "a folder path (`str` or `Path`)"

    def check(self, value):
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or not value.strip() or any(not c.isprintable() for c in value):
            raise Invalid("must be a folder path (a str or pathlib.Path without control characters)")
        return value

    def parse(self, raw):
        return raw.strip()


class Url(Text):
    """An http(s) URL with a host; ``template=True``: its only placeholder is ``{id}``, which it contains."""

    def __init__(self, template: bool = False):
        self.template = template

    def describe(self):
        return "http(s) URL containing `{id}`" if self.template else "http(s) URL"

    def check(self, value):
        what = "an http(s) URL template containing '{id}'" if self.template else "an http(s) URL"
        try:
            super().check(value)
            parts = urlsplit(value)
            if self.template and ("{id}" not in value or value.format(id="1") != value.replace("{id}", "1")):
                raise Invalid(what)
        except (Invalid, ValueError, KeyError, IndexError) as exc:
            raise Invalid(f"must be {what}") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Invalid(f"must be {what}")
        return value


# S3's "safe characters" for object key names (AWS S3 User Guide, "Naming Amazon S3 objects").
_KEY_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/")


class Prefix(Kind):
    """A relative S3 key prefix ending in '/': safe characters only, no empty or '..' segment."""

    def describe(self):
        return "relative key prefix ending in `/`"

    def check(self, value):
        if (not isinstance(value, str) or not _KEY_PREFIX.fullmatch(value)
                or any(part in (".", "..") for part in value.split("/"))):
            raise Invalid("must be a relative prefix ending in '/', such as 'uploads/' "
                          "(letters, digits, !_.*'()- and '/', no empty or '..' segment)")
        return value

    def parse(self, raw):
        return raw.strip()


class Optional(Kind):
    """None or a value of ``kind``; the environment says ``none`` or ``off`` for None."""

    def __init__(self, kind: Kind):
        self.kind = kind

    def describe(self):
        return f"{self.kind.describe()}, or None"

    def check(self, value):
        if value is None:
            return None
        try:
            return self.kind.check(value)
        except Invalid as exc:
            raise Invalid(f"{exc} or None") from exc

    def parse(self, raw):
        return None if raw.strip().lower() in ("none", "off") else self.kind.parse(raw)


class ContentTypes(Kind):
    """A non-empty list of the content types the processor can decode; returned as a tuple."""

    known = tuple(CONTENT_TYPE_FORMATS)

    def describe(self):
        return "list of " + ", ".join(f"`{ct}`" for ct in self.known)

    def check(self, value):
        if (isinstance(value, (str, bytes)) or not isinstance(value, Collection) or not value
                or not set(value) <= set(self.known)):
            raise Invalid(f"must be a non-empty list drawn from {sorted(self.known)}")
        try:
            check_input_formats(formats_for(value))
        except CodecMissing as exc:
            raise Invalid(f"allows a format this installation cannot decode: {exc}") from exc
        return tuple(value)

    def parse(self, raw):
        return csv(raw)


class Secrets(Kind):
    """A list of non-empty strings (the first signs, all verify); returned as a tuple. Never echoed."""

    secret = True

    def describe(self):
        return "list of secrets (never shown in errors)"

    def check(self, value):
        if isinstance(value, str):
            raise Invalid("must be a list of secrets, even if there is only one")
        if (not isinstance(value, (list, tuple))
                or not all(isinstance(s, str) and s and s == s.strip() for s in value)):
            raise Invalid("must be a list of non-empty strings without surrounding spaces")
        return tuple(value)

    def parse(self, raw):
        return csv(raw)


class Networks(Kind):
    """A list of IP networks in CIDR form ('10.0.0.0/8', a bare address is /32 or /128); a tuple of strings."""

    def describe(self):
        return "list of CIDR networks"

    def check(self, value):
        if (isinstance(value, str) or not isinstance(value, (list, tuple))
                or not all(isinstance(item, str) for item in value)):
            raise Invalid("must be a list of IP networks such as ['10.0.0.0/8'], even if there is only one")
        try:
            return tuple(str(ipaddress.ip_network(item, strict=False)) for item in value)
        except (TypeError, ValueError) as exc:
            raise Invalid(f"must be a list of IP networks such as ['10.0.0.0/8'] ({exc})") from exc

    def parse(self, raw):
        return csv(raw)


def normalise_origin(value: str) -> str | None:
    """``"HTTPS://Example.com:443"`` → ``"https://example.com"``: an http(s) origin (RFC 6454 section 6.2,
    scheme, host and a port other than the scheme's default), or None when ``value`` is not one (a path, a
    query, user info, ``null``)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except (AttributeError, ValueError):
        return None
    scheme = parts.scheme.lower()
    if (scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query
            or parts.fragment or "@" in parts.netloc):
        return None
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if port in (None, {"http": 80, "https": 443}[scheme]) else f":{port}")


class Origins(Kind):
    """A list of web origins (``"https://example.com"``, ``"http://localhost:8000"``); a tuple, normalised."""

    def describe(self):
        return "list of origins"

    def check(self, value):
        message = "must be a list of origins such as ['https://example.com'] (scheme, host, port; no path)"
        if (isinstance(value, str) or not isinstance(value, (list, tuple))
                or not all(isinstance(item, str) for item in value)):
            raise Invalid(message + ", even if there is only one")
        origins = tuple(normalise_origin(item) for item in value)
        if None in origins:
            raise Invalid(f"{message}; {value[origins.index(None)]!r} is not one")
        return origins

    def parse(self, raw):
        return csv(raw)


# DRF's rate syntax (rest_framework.throttling.SimpleRateThrottle.parse_rate): only the first
# letter of the period counts.
_RATE = re.compile(r"([1-9][0-9]*)/([smhd])[a-z]*")
#: Seconds of each period letter of a rate.
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"60/min"`` → ``(60, 60)``: requests allowed and the window in seconds (DRF's syntax: a count, "/",
    a period whose first letter is s, m, h or d). Raises :class:`Invalid` for anything else."""
    match = _RATE.fullmatch(rate) if isinstance(rate, str) else None
    if match is None:
        raise Invalid("must be a rate such as '60/min' (requests per second, minute, hour or day)")
    return int(match.group(1)), PERIODS[match.group(2)]


class Rate(Kind):
    """A throttle rate "<requests>/<period>" such as "60/min" (period s, m, h or d, DRF's syntax)."""

    def describe(self):
        return "rate `<n>/<s|min|hour|day>`"

    def check(self, value):
        parse_rate(value)
        return value

    def parse(self, raw):
        return raw.strip()


class Variants(Kind):
    """``{name: {width, height, format, quality?, animated?}}`` → a tuple of VariantSpec (accepted back as is).

    ``format`` is one of :data:`~.formats.OUTPUT_FORMATS` or a list of them in order of
    preference (the fallback last); ``quality`` one whole number 1..100 or ``{format: number}``.
    """

    keys = ("width", "height", "format", "quality", "animated")

    def describe(self):
        return "`{name: {width, height, format, quality, animated}}`"

    def check(self, value):
        if isinstance(value, tuple) and value and all(isinstance(v, VariantSpec) for v in value):
            return value
        if not isinstance(value, Mapping) or not value:
            raise Invalid("must be a non-empty dict of name -> {'width', 'height', 'format'[, 'quality', 'animated']}")
        return tuple(self._spec(name, spec) for name, spec in value.items())

    @classmethod
    def _spec(cls, name, spec) -> VariantSpec:
        where = f"[{name!r}]"
        if not isinstance(name, str) or not name.isidentifier():
            raise Invalid(f"{where}: variant names must be identifiers such as 'thumb'")
        if not isinstance(spec, Mapping):
            raise Invalid(f"{where} must be a dict")
        unknown = set(spec) - set(cls.keys)
        if unknown:
            raise Invalid(f"{where} has unknown keys {sorted(unknown)}")
        formats = cls._formats(where, spec.get("format"))
        for field in ("width", "height"):
            try:
                Whole(1, unit="pixels").check(spec.get(field))
            except Invalid as exc:
                raise Invalid(f"{where}[{field!r}] {exc}") from exc
        quality = spec.get("quality")
        if quality is not None and not isinstance(quality, Mapping):
            try:
                Whole(1, 100).check(quality)
            except Invalid as exc:
                raise Invalid(f"{where}['quality'] {exc}, or a dict of format -> 1..100") from exc
        if not isinstance(spec.get("animated", False), bool):
            raise Invalid(f"{where}['animated'] must be True or False")
        try:
            return VariantSpec(name, spec["width"], spec["height"], formats, quality,
                               animated=spec.get("animated", False))
        except ValueError as exc:  # quality of an unknown format, animated without WEBP ...
            raise Invalid(f"{where}: {str(exc).split(': ', 1)[-1].rstrip('.')}") from exc

    @staticmethod
    def _formats(where: str, value) -> tuple[str, ...]:
        listed = [value] if isinstance(value, str) else value
        if not isinstance(listed, (list, tuple)) or not listed or not all(isinstance(f, str) for f in listed):
            raise Invalid(f"{where}['format'] must be one of {sorted(OUTPUT_FORMATS)} or a list of them, "
                          "fallback last, such as ['AVIF', 'WEBP']")
        formats = tuple(f.upper() for f in listed)
        if bad := [f for f in formats if f not in OUTPUT_FORMATS]:
            raise Invalid(f"{where}['format'] {bad[0]!r} is not one of {sorted(OUTPUT_FORMATS)}")
        if len(set(formats)) != len(formats):
            raise Invalid(f"{where}['format'] lists a format twice")
        for fmt in formats:
            try:
                check_output_format(fmt)
            except CodecMissing as exc:
                raise Invalid(f"{where}['format'] {fmt}: {exc}") from exc
        return formats

    def parse(self, raw):
        return json.loads(raw)
