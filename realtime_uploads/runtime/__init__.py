"""The web process's machinery: it does not read or change uploads, and it imports only the settings below it.

- :mod:`.server`: ``realtime-uploads-daphne``, daphne refusing oversized bodies before buffering them;
- :mod:`.handler`: Django's ASGI handler with its per-request threads reused;
- :mod:`.executor`: the bounded thread pool the async paths do their database work on;
- :mod:`.lifecycle`: what runs when shutdown begins and at exit;
- :mod:`.answers`: the push path's HTTP answers, written to Django or to plain ASGI.
"""
