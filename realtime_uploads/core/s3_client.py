"""The S3 client both sides use, built once per process and configuration, and the lifecycle tag.

Clients are created on first use, one per process and configuration, each
from its own Session under a lock, and then shared by every thread: boto3
documents clients as thread-safe but sessions (and so client creation from a
shared one) as not ("Multithreading or multiprocessing with resources",
boto3 guide). Creating one costs tens of milliseconds of CPU (a new Session
loads botocore's data files), signing a presigned POST about 0.1 ms; a
per-thread cache never hits under an ASGI server, which runs each sync
request in a fresh thread. ``signature_version="s3v4"`` is explicit: boto3
otherwise hands out legacy SigV2 POST fields in us-east-1. No Django import.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()

#: The tag the s3 backend puts on originals at upload (``pending``) and the
#: processor replaces after completion (``completed``); the bucket's lifecycle
#: rule (template.yaml) expires originals still ``pending`` after some days.
LIFECYCLE_TAG = "realtime-uploads-status"


def tagging_xml(value: str) -> str:
    """The S3 tagging document ``<Tagging>…</Tagging>`` of the lifecycle tag with ``value``."""
    return (f"<Tagging><TagSet><Tag><Key>{LIFECYCLE_TAG}</Key><Value>{value}</Value></Tag></TagSet>"
            "</Tagging>")


def s3_client(*, region: str | None = None, endpoint_url: str | None = None, addressing_style: str = "auto"):
    """This process's S3 client for this configuration, created on first use and shared by all threads.

    ``region`` and ``endpoint_url`` default to boto3's own configuration
    (``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3``); ``addressing_style`` is
    ``auto``, ``path`` (most S3-compatible servers) or ``virtual``.
    """
    key = (region, endpoint_url, addressing_style)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                config = Config(
                    signature_version="s3v4",
                    s3={"addressing_style": addressing_style},
                    retries={"mode": "standard"},
                    max_pool_connections=32,  # shared by every thread of the process
                )
                session = boto3.session.Session()
                client = _clients[key] = session.client(
                    "s3", region_name=region, endpoint_url=endpoint_url, config=config)
    return client


def error_status(exc: ClientError) -> int:
    """The HTTP status of a ClientError (0 if the response carried none)."""
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def reset_clients() -> None:
    """Forget the clients (after the AWS configuration changed, e.g. in tests)."""
    with _clients_lock:
        _clients.clear()
