"""``python -m realtime_uploads.runtime.server``: daphne, refusing oversized request bodies before buffering them.

Plain daphne reads a request's whole body before the application runs: Twisted
spools it to a temporary file and parses ``multipart/form-data`` itself
(``twisted.web.http.Request.requestReceived``), then daphne copies all of it
into the application's queue at once. One anonymous 300 MB POST, to any path,
took a daphne to 3.7 GB and stalled every other socket it held for seconds;
Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` and upload handlers run too late to
help.

This module runs daphne's own command line (every option is daphne's) with one
server class changed: a request whose ``Content-Length`` is over the limit is
answered ``413 Content Too Large`` (RFC 9110 section 15.5.14) as soon as its
headers are read, and a chunked body (``Transfer-Encoding: chunked``, RFC 9112
section 7.1) the moment it crosses the limit. Nothing of such a body is kept:
the rest of what the client sends is read and dropped (a "lingering close", as
nginx does, so the client sees the 413 instead of a reset) for at most
:data:`LINGER_SECONDS`, then the connection is closed. ``Expect:
100-continue`` clients are refused before they send the body. Twisted's own
form parsing, whose result daphne never uses, is switched off.

The limit is ``REALTIME_UPLOADS["MAX_BODY_SIZE"]`` in bytes, by default
``MAX_SIZE`` plus 64 KiB for the presigned POST's other fields: the largest
body the service has a reason to accept. Production should also set the
reverse proxy's limit (nginx ``client_max_body_size``), see ``docs/deploying.md``.

Relies on daphne's ``Server.http_factory`` and ``WebRequest`` and on Twisted's
``Request.gotLength``/``handleContentChunk``; ``tests/scenarios/test_body_limit.py``
fails if a daphne or Twisted release changes them.
"""

from __future__ import annotations

import io
import logging

from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from twisted.internet import reactor
from twisted.web import http

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.settings_schema import BODY_OVERHEAD

logger = logging.getLogger(__name__)

#: Room for the presigned POST's fields (key, policy, signature…) next to the file, bytes.
FORM_OVERHEAD = BODY_OVERHEAD
#: Longest time a refused client's remaining body is read and dropped, seconds.
LINGER_SECONDS = 5.0


def max_body_size() -> int:
    """The largest request body accepted, bytes: ``MAX_BODY_SIZE``, or ``MAX_SIZE`` + :data:`FORM_OVERHEAD`."""
    return uploads_settings.max_body_size()


def max_websocket_message_bytes() -> int:
    """Largest WebSocket message autobahn buffers, bytes: 4 x ``MAX_MESSAGE_SIZE`` (UTF-8's worst case)."""
    return 4 * int(uploads_settings.MAX_MESSAGE_SIZE)


def _too_large_response(limit: int) -> bytes:
    body = (
        b'{"detail": "Request body larger than %d bytes.", "code": "body_too_large", "limit": %d}' % (limit, limit)
    )
    head = (
        b"HTTP/1.1 413 Content Too Large\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % len(body)
    )
    return head + body


class LimitedRequest(WebRequest):
    """daphne's request, refusing a body over ``server.max_body_size`` bytes (daphne sets ``self.server``)."""

    _received = 0
    _refused = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Twisted would parse a multipart body into self.args (all of it in memory, twice), which
        # daphne never reads; a malformed one got Twisted's bare 400 instead of the application's answer.
        self._parsePOSTFormSubmission = False

    def gotLength(self, length):
        """Headers are in; ``length`` is the Content-Length (None when chunked or absent)."""
        if length is not None and length > self.server.max_body_size:
            self.content = io.BytesIO()  # Twisted's cleanup closes it; nothing is written
            self._refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data):
        """Part of the body arrived (after any chunked decoding)."""
        if self._refused:
            return
        self._received += len(data)
        if self._received > self.server.max_body_size:
            self._refuse()
            return
        super().handleContentChunk(data)

    def _refuse(self):
        self._refused = True
        channel = self.channel
        limit = self.server.max_body_size
        logger.warning("Refused a request body over %d bytes from %s.", limit, self.getClientAddress())
        if not isinstance(channel, http.HTTPChannel):  # an HTTP/2 stream (daphne's TLS endpoints): answer on it
            head, _, body = _too_large_response(limit).partition(b"\r\n\r\n")
            self.setResponseCode(413)
            self.setHeader(b"Content-Type", b"application/json")
            self.write(body)
            self.finish()
            return
        # allHeadersReceived answers "100 Continue" after gotLength: not to a refused request.
        self.requestHeaders.removeHeader(b"Expect")
        # From now on the channel drops what arrives; nothing reaches this request again.
        channel.rawDataReceived = _drop
        channel.lineReceived = _drop
        channel.persistent = False
        transport = channel.transport
        transport.write(_too_large_response(limit))
        lose_write = getattr(transport, "loseWriteConnection", None)
        if lose_write is not None:
            lose_write()  # FIN after the 413; keep reading so the client is not reset mid-send
            reactor.callLater(LINGER_SECONDS, _abort, transport)
        else:
            transport.loseConnection()


def _drop(data: bytes) -> None:
    """Read and forget (a refused request's body)."""


def _abort(transport) -> None:
    if getattr(transport, "connected", False):
        transport.abortConnection()


class LimitedHTTPFactory(HTTPFactory):
    """daphne's HTTP factory, building channels whose requests are :class:`LimitedRequest`."""

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = LimitedRequest
        return protocol


class LimitedServer(Server):
    """daphne's server with :class:`LimitedHTTPFactory`; ``max_body_size`` in bytes (see :func:`max_body_size`)."""

    def __init__(self, *args, max_body_size: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_body_size = max_body_size if max_body_size is not None else globals()["max_body_size"]()
        # WebSocket messages: autobahn buffers a message whole before the consumer sees it (daphne's default
        # limit is 1 MiB per socket). MAX_MESSAGE_SIZE counts characters, at most 4 bytes each in UTF-8;
        # past that autobahn itself closes with 1009 (RFC 6455 section 7.4.1) without buffering the rest.
        frame_limit = max_websocket_message_bytes()
        self.websocket_max_message_size = min(self.websocket_max_message_size, frame_limit)
        self.websocket_max_frame_size = min(self.websocket_max_frame_size, frame_limit)

    # Server.run() builds its factory as `self.http_factory = HTTPFactory(self)`; the setter swaps in ours,
    # so the rest of run() (endpoints, signals, reactor) stays daphne's own code.
    @property
    def http_factory(self):
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory):
        self._http_factory = factory if isinstance(factory, LimitedHTTPFactory) else LimitedHTTPFactory(self)


class LimitedCommandLineInterface(CommandLineInterface):
    """daphne's command line, running :class:`LimitedServer`."""

    server_class = LimitedServer


def main() -> None:
    """Run daphne's command line (``sys.argv``) with the body limit."""
    LimitedCommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
