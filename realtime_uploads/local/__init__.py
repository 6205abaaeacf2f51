"""The local backend's stand-ins for S3 and its event notification, inside the web process.

- :mod:`.post_object`: S3's POST Object, emulated (the browser's presigned POST lands here);
- :mod:`.runner`: the in-process processor and its sweep, started with the server;
- :mod:`.sweep`: finish what a killed process left, end what passed its deadline.
"""

from realtime_uploads.local.runner import start

__all__ = ["start"]
