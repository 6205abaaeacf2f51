"""Object keys: where originals and variants live, and which upload a key belongs to.

Originals: ``<KEY_PREFIX><upload id>/<sanitised filename>``; variants:
``<VARIANT_PREFIX><upload id>/<variant name>.<ext>``. The client's file name
is hostile: it is reduced to a short ASCII name that cannot climb out of the
upload's folder or smuggle control characters into a key or a header.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

MAX_FILENAME_LENGTH = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize_filename(name: str) -> str:
    """Return a safe object-key file name for a client-supplied ``name``.

    Drops any directory part (``/`` or ``\\``), folds accents to ASCII
    (``été.JPG`` → ``ete.JPG``), replaces every other character outside
    ``[A-Za-z0-9._-]`` with ``_``, strips leading dots and keeps at most
    100 characters, preserving the extension (at most 10 characters). An
    empty stem becomes ``upload``; never returns an empty string.
    """
    base = re.split(r"[/\\]", name)[-1]
    folded = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem, dot, ext = folded.rpartition(".")
    if not dot:
        stem, ext = folded, ""
    ext = _UNSAFE.sub("", ext)[:10]
    stem = _UNSAFE.sub("_", stem).strip("._-") or "upload"
    if ext:
        return f"{stem[: MAX_FILENAME_LENGTH - len(ext) - 1]}.{ext}"
    return stem[:MAX_FILENAME_LENGTH]


def original_key(prefix: str, upload_id: uuid.UUID | str, filename: str) -> str:
    """``<prefix><id>/<sanitised filename>``."""
    return f"{prefix}{upload_id}/{sanitize_filename(filename)}"


def variant_key(prefix: str, upload_id: uuid.UUID | str, name: str, extension: str) -> str:
    """``<prefix><id>/<name>.<extension>``."""
    return f"{prefix}{upload_id}/{name}.{extension}"


def upload_id_from_key(prefix: str, key: str) -> uuid.UUID | None:
    """The upload id in an original's key, or None if ``key`` is not one.

    ``key`` must already be decoded (S3 event keys are URL-encoded: apply
    ``urllib.parse.unquote_plus`` first, per the S3 event message structure
    at docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
    """
    if not key.startswith(prefix):
        return None
    head, sep, rest = key[len(prefix):].partition("/")
    if not sep or not rest or "/" in rest:
        return None
    try:
        parsed = uuid.UUID(head)
    except ValueError:
        return None
    return parsed if str(parsed) == head else None
