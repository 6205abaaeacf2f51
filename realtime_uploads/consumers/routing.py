"""WebSocket URL patterns: ``URLRouter(websocket_urlpatterns)`` in the project's ``asgi.py``.

Both routes are wrapped in :class:`~realtime_uploads.push.socket_caps.SocketCapMiddleware`,
so one client holds at most ``MAX_SOCKETS_PER_CLIENT`` of them per process. Wrap
the router in :class:`realtime_uploads.push.origins.OriginValidator`, which
refuses pages of other origins (scheme, host and port) before the handshake.
The presign answer's ``subscribe.url`` is :func:`socket_path` of the upload,
so mount these patterns at the root of the project's WebSocket routes.
"""

from typing import Any

from django.urls import re_path

from realtime_uploads.consumers.multiplex import MultiplexConsumer
from realtime_uploads.consumers.uploads import UploadConsumer
from realtime_uploads.push.socket_caps import SocketCapMiddleware

#: Where the sockets are served, below the root of the WebSocket routes.
PREFIX = "ws/uploads/"


def socket_path(upload_id: Any = None) -> str:
    """The path of an upload's socket (``/ws/uploads/<id>/``), or of the multiplexed one for None."""
    return f"/{PREFIX}" if upload_id is None else f"/{PREFIX}{upload_id}/"


websocket_urlpatterns = [
    # One socket, many uploads: subscribe/unsubscribe messages.
    re_path(rf"^{PREFIX}$", SocketCapMiddleware(MultiplexConsumer.as_asgi())),
    # Any single path segment: the consumer itself answers a malformed id with 4400.
    re_path(rf"^{PREFIX}(?P<upload_id>[^/]+)/$", SocketCapMiddleware(UploadConsumer.as_asgi())),
]
