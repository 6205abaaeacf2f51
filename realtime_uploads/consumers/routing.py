"""WebSocket URL patterns: ``URLRouter(websocket_urlpatterns)`` in the project's ``asgi.py``."""

from django.urls import re_path

from .uploads import UploadConsumer

websocket_urlpatterns = [
    # Any single path segment: the consumer itself answers a malformed id with 4400.
    re_path(r"^ws/uploads/(?P<upload_id>[^/]+)/$", UploadConsumer.as_asgi()),
]
