"""The processor's signed HTTP client for ``POST /api/uploads/<id>/callback/``.

Standard library only (``urllib.request``), so the Lambda package needs no
HTTP dependency. Each request is signed afresh (a retry gets a new
timestamp) with the first secret, as :mod:`realtime_uploads.core.signing`
describes. Network errors and 5xx answers are retried with exponential
backoff and full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"), waiting at least what a 503's ``Retry-After`` asks (RFC 9110
section 10.2.3: Django sheds load that way); any 4xx is final and raised as
:class:`CallbackRejected`. A client given a ``cancel`` event sends nothing
once it is set (the web process is shutting down) and stops waiting at once.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from realtime_uploads.core.errors import CallbackError, CallbackRejected
from realtime_uploads.core.signing import SIGNATURE_HEADER, sign_callback

logger = logging.getLogger(__name__)


@dataclass
class CallbackClient:
    """Sends signed callbacks with retries.

    ``url_template`` contains ``{id}``; ``secret`` signs; ``attempts`` is
    the number of tries in all; ``timeout`` and ``backoff`` are seconds
    (the n-th retry waits a random time up to ``backoff * 2**n``, at most
    ``max_backoff``). Once ``cancel`` is set, :meth:`send` raises
    CallbackError before sending anything more.
    """

    url_template: str
    secret: str
    attempts: int = 5
    timeout: float = 10.0
    backoff: float = 0.5
    max_backoff: float = 20.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    cancel: threading.Event | None = field(default=None, repr=False, compare=False)

    def send(self, upload_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` as JSON for ``upload_id``; return the snapshot Django answered.

        Raises :class:`CallbackRejected` on a 4xx, :class:`CallbackError`
        when every attempt failed on the network or with a 5xx.
        """
        url = self.url_template.format(id=upload_id)
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        last: Exception | None = None
        retry_after = 0.0
        for attempt in range(self.attempts):
            if attempt:
                delay = random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))  # noqa: S311
                self._wait(max(delay, min(retry_after, self.max_backoff)))
            if self.cancel is not None and self.cancel.is_set():
                raise CallbackError(f"Callback for upload {upload_id} not sent: the processor is shutting down.")
            retry_after = 0.0
            request = urllib.request.Request(  # noqa: S310 - the URL is the deployer's setting
                url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign_callback(body, self.secret),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    return _decode(response.read())
            except urllib.error.HTTPError as exc:
                answer = _decode(exc.read())
                if exc.code < 500:
                    raise CallbackRejected(exc.code, answer) from exc
                retry_after = _seconds(exc.headers.get("Retry-After"))
                last = exc
            except (urllib.error.URLError, OSError) as exc:  # refused, reset, timeout
                last = exc
            logger.warning(
                "Callback for upload %s failed (attempt %d of %d): %s",
                upload_id, attempt + 1, self.attempts, last,
            )
        raise CallbackError(f"Callback for upload {upload_id} failed {self.attempts} times: {last}")


    def _wait(self, seconds: float) -> None:
        if self.cancel is not None:
            self.cancel.wait(seconds)
        else:
            self.sleep(seconds)


def _seconds(value: str | None) -> float:
    """A ``Retry-After`` given in seconds (the HTTP-date form is not used by Django here); 0 if absent."""
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
