"""The cloud-path stack as the test suite runs it; docker-compose.yml must run the same.

``tests/test_deploy_files.py`` checks that each compose service's command
and environment variable names are the ones below, so the compose file
cannot drift from what the end-to-end test proves works.
"""

from __future__ import annotations

BUCKET = "uploads"
QUEUE = "uploads-events"


def init_argv(origin: str) -> list[str]:
    """The one-shot that creates bucket, CORS, queue and the S3 → SQS notification."""
    return ["python", "-m", "realtime_uploads.provision", "--bucket", BUCKET, "--queue", QUEUE, "--origin", origin]


# daphne's command line refusing request bodies over MAX_BODY_SIZE with 413 before buffering them
# (realtime_uploads.server), a listen backlog of 2048 (Twisted's default is 50: a reconnect storm
# after a restart overflowed it and clients were reset), and the heartbeat: an idle socket is
# pinged every 20 s and closed if no pong comes within 30 s.
WEB_ARGV = ["realtime-uploads-daphne", "-e", "tcp:port={port}:interface={host}:backlog=2048", "--ping-interval", "20",
            "--ping-timeout", "30", "asgi:application"]
WORKER_ARGV = ["realtime-uploads-worker"]

AWS_ENV = {"AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
INIT_ENV = AWS_ENV | {"AWS_ENDPOINT_URL"}
WEB_ENV = AWS_ENV | {
    "AWS_ENDPOINT_URL_S3", "REALTIME_UPLOADS_BACKEND", "REALTIME_UPLOADS_BUCKET", "REALTIME_UPLOADS_CALLBACK_SECRET",
    "REALTIME_UPLOADS_ADDRESSING_STYLE", "DJANGO_ALLOWED_HOSTS",
}
WORKER_ENV = AWS_ENV | {
    "AWS_ENDPOINT_URL", "REALTIME_UPLOADS_QUEUE_URL", "REALTIME_UPLOADS_CALLBACK_URL",
    "REALTIME_UPLOADS_CALLBACK_SECRET", "REALTIME_UPLOADS_BUCKET", "REALTIME_UPLOADS_ADDRESSING_STYLE",
}


def web_env(endpoint: str, secret: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL_S3": endpoint, "REALTIME_UPLOADS_BACKEND": "s3", "REALTIME_UPLOADS_BUCKET": BUCKET,
        "REALTIME_UPLOADS_CALLBACK_SECRET": secret, "REALTIME_UPLOADS_ADDRESSING_STYLE": "path",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


def worker_env(endpoint: str, queue_url: str, callback_url: str, secret: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint, "REALTIME_UPLOADS_QUEUE_URL": queue_url,
        "REALTIME_UPLOADS_CALLBACK_URL": callback_url, "REALTIME_UPLOADS_CALLBACK_SECRET": secret,
        "REALTIME_UPLOADS_BUCKET": BUCKET, "REALTIME_UPLOADS_ADDRESSING_STYLE": "path",
    }
