"""The ASGI application: ``daphne asgi:application``.

HTTP goes to Django, except the push path (signed processing callbacks and
long-polls carrying their subscribe token), which ``push_path`` answers on
the event loop ahead of Django's middleware. WebSockets pass the Origin
check against ALLOWED_HOSTS and are routed to the consumers; UploadConsumer
authorises by subscribe token and reads the session itself only without
one, so it needs no AuthMiddlewareStack (wrap a project's other consumers in
one as usual).
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the consumers import models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from realtime_uploads.asgi import push_path  # noqa: E402
from realtime_uploads.backends import start_backend  # noqa: E402
from realtime_uploads.consumers.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": push_path(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
# The local backend's in-process processor and its sweep start with the server, so uploads a
# previous process left unfinished are processed now (a no-op for the s3 backend).
start_backend()
# Move everything loaded at start-up (Django, the URLconf, models...) out of the collector's way: a full
# collection walked all of it and paused the event loop for 50-85 ms under load (gc.freeze, Python 3.7+).
gc.freeze()
