"""A WebSocket client that never answers a close frame, built on websockets' sans-I/O ``ClientProtocol``.

websockets' own clients answer a close frame at once; an attacker's need
not, and a server that counts a socket until its close handshake ends holds
it for the close timeout (autobahn's, under daphne). :func:`open_silent`
makes the handshake, then only reads: :meth:`SilentSocket.close_code` waits
for the server's close frame and returns its code, answering nothing.
"""

from __future__ import annotations

import asyncio

from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri


class SilentSocket:
    """One handshake made (:attr:`status`: 101, or the refusal's HTTP status); reads frames, writes nothing more."""

    def __init__(self, protocol: ClientProtocol, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.protocol, self.reader, self.writer = protocol, reader, writer
        self.events: list = []
        self.status = 0

    async def _read(self) -> bool:
        data = await self.reader.read(65536)
        if data:
            self.protocol.receive_data(data)
        elif not self.protocol.reader.eof:
            self.protocol.receive_eof()  # a refusal's body runs to the end of the connection
        self.protocol.data_to_send()  # a close answer websockets queued is dropped, never sent
        self.events += self.protocol.events_received()
        return bool(data)

    async def handshake(self) -> None:
        while not any(isinstance(event, Response) for event in self.events):
            if not await asyncio.wait_for(self._read(), 10):
                self.events += self.protocol.events_received()
                break
        responses = [event for event in self.events if isinstance(event, Response)]
        self.status = responses[0].status_code if responses else 0
        self.events = [event for event in self.events if isinstance(event, Frame)]

    async def close_code(self, timeout: float = 10) -> int | None:
        """The code of the server's close frame (not answered), or None if the connection ended without one."""
        async def wait() -> int | None:
            while True:
                for frame in self.events:
                    if frame.opcode is Opcode.CLOSE:
                        return Close.parse(frame.data).code
                if not await self._read():
                    return None

        return await asyncio.wait_for(wait(), timeout)

    async def first_text(self, timeout: float = 10) -> str:
        """The first text frame the server sent."""
        async def wait() -> str:
            while True:
                for frame in self.events:
                    if frame.opcode is Opcode.TEXT:
                        return frame.data.decode()
                if not await self._read():
                    raise ConnectionError("closed before any text")

        return await asyncio.wait_for(wait(), timeout)

    def abort(self) -> None:
        self.writer.transport.abort()


async def open_silent(url: str, *, origin: str | None = None, headers: dict[str, str] | None = None,
                      ) -> SilentSocket:
    """Open ``url`` (``ws://host:port/path?query``) sending ``origin`` and extra ``headers``."""
    uri = parse_uri(url)
    protocol = ClientProtocol(uri, origin=origin)
    request = protocol.connect()
    for name, value in (headers or {}).items():
        if name in request.headers:
            del request.headers[name]  # replaced, not repeated (Host)
        request.headers[name] = value
    reader, writer = await asyncio.open_connection(uri.host, uri.port)
    protocol.send_request(request)
    for chunk in protocol.data_to_send():
        writer.write(chunk)
    await writer.drain()
    socket = SilentSocket(protocol, reader, writer)
    await socket.handshake()
    return socket
