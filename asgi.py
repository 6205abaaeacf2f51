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

from realtime_uploads.runtime.handler import get_asgi_application  # Django's, its per-request threads reused

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the consumers import models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from realtime_uploads import local  # noqa: E402
from realtime_uploads.callback.fast_path import push_path  # noqa: E402
from realtime_uploads.consumers.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": push_path(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
# The local backend's in-process processor and its sweep start with the server, so uploads a
# previous process left unfinished are processed now (a no-op for the s3 backend).
local.start()
# The garbage collector, tuned for a server that holds thousands of long-lived sockets:
# - gc.freeze() moves everything loaded at start-up (Django, the URLconf, models...) out of its way: a
#   full collection walked all of it and paused the event loop for 50-85 ms under load;
# - larger thresholds let short-lived objects die young instead of being promoted, so full collections
#   (which walk every socket's objects: 150-230 ms with 2000 held) come rarely instead of every few
#   seconds, and young ones stay a few milliseconds (bench/push_latency.py measures the effect).
gc.freeze()
gc.set_threshold(10_000, 50, 100)
