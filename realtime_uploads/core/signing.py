"""Callback signatures: HMAC-SHA256 over the timestamp and the raw body (standard library only).

The header is ``X-Upload-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>``
is HMAC-SHA256 (RFC 2104, FIPS 180-4) of ``"<t>.<raw body>"`` keyed with a
shared secret, the same construction as Stripe's webhook signatures
(``docs/contract.md``, "Callback signature"). The timestamp bounds replay to a
tolerance window; several secrets verify so that a secret can be rotated
without downtime. The processor signs with :func:`sign_callback`, the web app
verifies with :func:`verify_callback`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable

from realtime_uploads.core.errors import SignatureError

SIGNATURE_HEADER = "X-Upload-Signature"
SIGNATURE_SCHEME = "v1"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_callback(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """Return the ``X-Upload-Signature`` header value for ``body``.

    ``body`` is the exact bytes that will be sent; ``timestamp`` is Unix
    seconds (default: now). Shape: ``"t=1700000000,v1=<64 hex chars>"``.
    """
    if not secret:
        raise ValueError("A callback secret is required to sign a callback.")
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={ts},{SIGNATURE_SCHEME}={_digest(secret, ts, body)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed_signature", f"Malformed {SIGNATURE_HEADER} element {part!r}.")
        if name == "t":
            if not _TIMESTAMP.fullmatch(value):
                raise SignatureError("malformed_signature", f"{SIGNATURE_HEADER} t= must be Unix seconds.")
            timestamp = int(value)
        elif name == SIGNATURE_SCHEME and _HEX_DIGEST.fullmatch(value):
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError(
            "malformed_signature", f"{SIGNATURE_HEADER} must carry t=<unix seconds>,v1=<64 lowercase hex digits>."
        )
    return timestamp, signatures


def verify_callback(
    body: bytes,
    header: str | None,
    secrets: Iterable[str],
    *,
    tolerance: int,
    now: float | None = None,
) -> int:
    """Check ``header`` against ``body``; return the signed timestamp.

    Accepts the signature if any ``v1`` value matches the HMAC under any of
    ``secrets`` (compared in constant time with ``hmac.compare_digest``) and
    ``|now - t| <= tolerance`` seconds.

    Raises :class:`SignatureError` (missing, malformed, stale or invalid).
    """
    if not header:
        raise SignatureError("missing_signature", f"The {SIGNATURE_HEADER} header is required.")
    timestamp, candidates = _parse(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(
            "stale_signature",
            f"The signature timestamp is more than {tolerance} seconds away from the server's clock.",
        )
    matched = False
    for secret in secrets:
        expected = _digest(secret, timestamp, body)
        for candidate in candidates:
            # Keep looping after a match so timing does not reveal which secret matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("invalid_signature", "The callback signature does not match.")
    return timestamp
