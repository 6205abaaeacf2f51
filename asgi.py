"""The ASGI application: ``daphne asgi:application``.

:func:`realtime_uploads.asgi.get_asgi_application` builds it: HTTP goes to
Django (its request threads reused), except the push path (signed
processing callbacks and long-polls carrying their subscribe token), which
``push_path`` answers on the event loop ahead of Django's middleware.
WebSockets pass the Origin check and are routed to the consumers;
UploadConsumer authorises by subscribe token and reads the session itself
only without one, so it needs no AuthMiddlewareStack (wrap a project's other
consumers in one as usual). It also starts the local backend's processor and
tunes the garbage collector (see that module).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from realtime_uploads.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
