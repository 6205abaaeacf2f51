"""WebSocket URL patterns: ``URLRouter(websocket_urlpatterns)`` in the project's ``asgi.py``."""

from django.urls import re_path

from .multiplex import MultiplexConsumer
from .uploads import UploadConsumer

websocket_urlpatterns = [
    # One socket, many uploads: subscribe/unsubscribe messages.
    re_path(r"^ws/uploads/$", MultiplexConsumer.as_asgi()),
    # Any single path segment: the consumer itself answers a malformed id with 4400.
    re_path(r"^ws/uploads/(?P<upload_id>[^/]+)/$", UploadConsumer.as_asgi()),
]
