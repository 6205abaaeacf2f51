"""The cloud-path services' commands and environment: one source for the tests, ``make stack`` and compose.

``tests/scenarios/test_e2e_s3.py`` runs these commands, ``config.devstack`` (``make
stack``) runs them on loopback, and ``tests/unit/test_deploy_files.py`` checks
that each docker-compose service's command and environment variable names
are the ones below, so none of them can drift from what the end-to-end
tests prove works.
"""

from __future__ import annotations

BUCKET = "uploads"
QUEUE = "uploads-events"
#: The demo's content types: the app's defaults plus the formats phones send (opt-in). Web and processor
#: must agree, or the web process presigns a HEIC the worker then refuses: every process gets this one value.
DEMO_CONTENT_TYPES = "image/jpeg,image/png,image/webp,image/gif,image/avif,image/heic,image/heif"


def init_argv(origin: str) -> list[str]:
    """The one-shot that creates bucket, CORS, queue and the S3 → SQS notification."""
    return ["python", "-m", "realtime_uploads.processing.provision", "--bucket", BUCKET, "--queue", QUEUE,
            "--origin", origin]


# daphne's command line refusing request bodies over MAX_BODY_SIZE with 413 before buffering them
# (realtime_uploads.runtime.server), a listen backlog of 2048 (Twisted's default is 50: a reconnect storm
# after a restart overflowed it and clients were reset), and the heartbeat: an idle socket is
# pinged every 20 s and closed if no pong comes within 30 s.
WEB_ARGV = ["realtime-uploads-daphne", "-e", "tcp:port={port}:interface={host}:backlog=2048", "--ping-interval", "20",
            "--ping-timeout", "30", "asgi:application"]
WORKER_ARGV = ["realtime-uploads-worker"]

AWS_ENV = {"AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
INIT_ENV = AWS_ENV | {"AWS_ENDPOINT_URL"}
WEB_ENV = AWS_ENV | {
    "AWS_ENDPOINT_URL_S3", "REALTIME_UPLOADS_BACKEND", "REALTIME_UPLOADS_BUCKET", "REALTIME_UPLOADS_CALLBACK_SECRET",
    "REALTIME_UPLOADS_ADDRESSING_STYLE", "DJANGO_ALLOWED_HOSTS", "REALTIME_UPLOADS_ALLOWED_CONTENT_TYPES",
}
WORKER_ENV = AWS_ENV | {
    "AWS_ENDPOINT_URL", "REALTIME_UPLOADS_QUEUE_URL", "REALTIME_UPLOADS_CALLBACK_URL",
    "REALTIME_UPLOADS_CALLBACK_SECRET", "REALTIME_UPLOADS_BUCKET", "REALTIME_UPLOADS_ADDRESSING_STYLE",
    "REALTIME_UPLOADS_ALLOWED_CONTENT_TYPES",
}


#: ``make stack``: one environment for every process (web, worker, provisioning). boto3 reads
#: ``AWS_ENDPOINT_URL`` as the endpoint of every service (S3 and SQS alike), and the web process
#: presigns for it, so on one host a single variable serves all; compose needs two only because
#: the browser and the containers reach moto under different names.
STACK_ENV = AWS_ENV | {
    "AWS_ENDPOINT_URL", "REALTIME_UPLOADS_BACKEND", "REALTIME_UPLOADS_BUCKET", "REALTIME_UPLOADS_ADDRESSING_STYLE",
    "REALTIME_UPLOADS_CALLBACK_SECRET", "REALTIME_UPLOADS_CALLBACK_URL", "REALTIME_UPLOADS_QUEUE_URL",
    "REALTIME_UPLOADS_ALLOWED_CONTENT_TYPES",
}


def stack_env(*, endpoint: str, queue_url: str, callback_url: str, secret: str) -> dict[str, str]:
    """The variables of STACK_ENV for a stack on one host: moto at ``endpoint``, fake credentials."""
    return {
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ENDPOINT_URL": endpoint, "REALTIME_UPLOADS_BACKEND": "s3", "REALTIME_UPLOADS_BUCKET": BUCKET,
        "REALTIME_UPLOADS_ADDRESSING_STYLE": "path", "REALTIME_UPLOADS_CALLBACK_SECRET": secret,
        "REALTIME_UPLOADS_CALLBACK_URL": callback_url, "REALTIME_UPLOADS_QUEUE_URL": queue_url,
        "REALTIME_UPLOADS_ALLOWED_CONTENT_TYPES": DEMO_CONTENT_TYPES,
    }


def web_env(endpoint: str, secret: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL_S3": endpoint, "REALTIME_UPLOADS_BACKEND": "s3", "REALTIME_UPLOADS_BUCKET": BUCKET,
        "REALTIME_UPLOADS_CALLBACK_SECRET": secret, "REALTIME_UPLOADS_ADDRESSING_STYLE": "path",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "REALTIME_UPLOADS_ALLOWED_CONTENT_TYPES": DEMO_CONTENT_TYPES,
    }


def worker_env(endpoint: str, queue_url: str, callback_url: str, secret: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint, "REALTIME_UPLOADS_QUEUE_URL": queue_url,
        "REALTIME_UPLOADS_CALLBACK_URL": callback_url, "REALTIME_UPLOADS_CALLBACK_SECRET": secret,
        "REALTIME_UPLOADS_BUCKET": BUCKET, "REALTIME_UPLOADS_ADDRESSING_STYLE": "path",
        "REALTIME_UPLOADS_ALLOWED_CONTENT_TYPES": DEMO_CONTENT_TYPES,
    }
