"""The WebSocket consumers: they only talk to their socket.

- :mod:`.uploads`: ``/ws/uploads/<id>/``, one upload per socket;
- :mod:`.multiplex`: ``/ws/uploads/``, many uploads over one socket (subscribe / unsubscribe messages);
- :mod:`.routing`: ``websocket_urlpatterns`` for the project's ``asgi.py``, each route behind the per-client cap.

Following an upload is :mod:`realtime_uploads.push.subscriptions`'s; the caps are
:mod:`realtime_uploads.push.socket_caps`'s.
"""
