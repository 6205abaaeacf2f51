"""One object in, variants stored and callbacks sent: the processor's whole job.

Shared by every entry point (the local dispatcher, the SQS worker, the
Lambda handler): they only differ in where objects come from and in the
:class:`ObjectStore` they pass. No Django import.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, BinaryIO

from realtime_uploads.core.errors import (
    INTERNAL_ERROR,
    STORAGE_ERROR,
    TOO_LARGE,
    CallbackError,
    CallbackRejected,
    ProcessingError,
    StorageError,
)
from realtime_uploads.core.formats import formats_for
from realtime_uploads.core.keys import upload_id_from_key, variant_key
from realtime_uploads.core.object_store import ObjectInfo, ObjectStore
from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.callback_client import CallbackClient
from realtime_uploads.processing.image.animation import AnimationBudget
from realtime_uploads.processing.image.limits import ImageLimits
from realtime_uploads.processing.image.render import render_variants

logger = logging.getLogger(__name__)

VARIANT_CACHE_CONTROL = "public, max-age=31536000, immutable"
INTERNAL_ERROR_MESSAGE = (
    "Something went wrong on our side while processing this image. Please try again; "
    "if it keeps failing, try saving the image in another format (JPEG or PNG)."
)


@dataclass(frozen=True)
class ProcessorConfig:
    """Everything the pipeline needs to know, built from Django settings or the environment."""

    key_prefix: str
    variant_prefix: str
    variants: tuple[VariantSpec, ...]
    max_size: int  # bytes
    max_pixels: int
    allowed_formats: Collection[str]
    callback: CallbackClient
    #: Only objects of this bucket are processed (S3 entry points); None accepts any.
    bucket: str | None = None
    #: Aspect ratio, decode memory (bytes) and CPU seconds one image may use (MAX_ASPECT_RATIO, ...).
    limits: ImageLimits = ImageLimits()  # noqa: RUF009 - frozen, shared safely
    #: Render in a child process that enforces ``limits.cpu_seconds`` and a memory bound (:mod:`.sandbox`).
    #: The local dispatcher (inside the web server) and the SQS worker (long-running) set it where
    #: :func:`.sandbox.isolation_available`; the Lambda handler does not: Lambda's timeout and memory
    #: size bound each invocation.
    isolate: bool = False
    #: Frames, decoded pixels and bytes an animated variant may cost (MAX_ANIMATION_FRAMES, ...).
    animation: AnimationBudget = AnimationBudget()  # noqa: RUF009 - frozen, shared safely

    @staticmethod
    def formats_for(content_types: Collection[str]) -> frozenset[str]:
        """Pillow format names for the allowed MIME types (``image/heic`` → ``HEIF``)."""
        return formats_for(content_types)


@dataclass(frozen=True)
class Outcome:
    """What happened to one object: ``status`` is ``completed``, ``failed`` or ``skipped``."""

    status: str
    upload_id: str | None = None
    reason: str = ""


def process_object(key: str, *, store: ObjectStore, config: ProcessorConfig) -> Outcome:
    """Process the original stored at ``key`` (already URL-decoded) and report by callback.

    Reads the object first (:func:`read_object`: at most ``max_size + 1``
    bytes, one over ``max_size`` is refused as ``too_large`` from its length
    alone); then sends ``processing`` naming the version it read (``object``:
    size and ETag), so the version Django pins is always one whose bytes this
    process holds; renders and stores every variant from exactly those bytes;
    then sends ``completed`` or ``failed`` with a stable error code. Keys
    outside ``KEY_PREFIX<uuid>/<name>`` are skipped, and so is an upload that
    Django answers 404 or 409 for (unknown, already finished by a redelivered
    event, or another version of the object is being processed). Any other
    exception (a bug, a decoder that breaks on a hostile file) is logged with
    its traceback and reported as ``failed`` with code ``internal_error``, so
    no upload is left ``processing``. Raises :class:`~realtime_uploads.core.errors.CallbackError`
    when Django cannot be reached, and a retryable :class:`StorageError` when
    storage fails for now, so at-least-once callers (SQS, Lambda) keep the
    message for a retry.
    """
    upload_id = upload_id_from_key(config.key_prefix, key)
    if upload_id is None:
        logger.info("Skipping %r: not an original under %r.", key, config.key_prefix)
        return Outcome("skipped", reason="not an upload key")
    uid = str(upload_id)
    try:
        info, source = read_object(store, key, max_size=config.max_size)
    except StorageError as exc:
        if exc.retryable:
            raise
        return _report(uid, key, store, config, _failed(STORAGE_ERROR, f"Could not read the upload: {exc}"))
    except ProcessingError as exc:
        return _report(uid, key, store, config, _failed(exc.code, exc.message))
    except Exception:
        logger.exception("Unexpected error reading upload %s (%s).", uid, key)
        return _report(uid, key, store, config, _failed(INTERNAL_ERROR, INTERNAL_ERROR_MESSAGE))
    with source:
        return _process_read(uid, key, info, source, store, config)


def read_object(store: ObjectStore, key: str, *, max_size: int) -> tuple[ObjectInfo, BinaryIO]:
    """The object at ``key`` and the version (size in bytes, ETag) of exactly the bytes returned.

    Uses the store's ``read`` when it has one (S3: one GET, no ``If-Match``,
    the ETag of its answer); otherwise ``head``, then ``open`` refusing any
    other version than that ETag (the local store, which keeps the first
    object of an upload and so has no second version to race). Raises ProcessingError ``too_large`` for an object over
    ``max_size`` bytes, having read at most ``max_size + 1`` of them, and
    StorageError when the store fails. The caller closes the stream.
    """
    read = getattr(store, "read", None)
    if read is not None:
        return read(key, max_size=max_size)
    info = store.head(key)
    if info.size > max_size:
        raise too_large(info.size, max_size)
    return info, store.open(key, etag=info.etag)


def too_large(size: int | str, max_size: int) -> ProcessingError:
    """The ``too_large`` refusal of a stored object of ``size`` bytes (or e.g. "more than N")."""
    return ProcessingError(TOO_LARGE, f"The stored object is {size} bytes, more than the {max_size} allowed.")


def _process_read(uid: str, key: str, info: ObjectInfo, source: BinaryIO, store: ObjectStore,
                  config: ProcessorConfig) -> Outcome:
    """Pin the version that was read (``processing``), render exactly those bytes, report the result.

    The report comes after the read, never before: two events of one key (the
    browser POSTed twice) each report the version they hold; Django pins the
    first and answers 409 to the other, which skips without touching anything.
    """
    identity = {"size": info.size, "etag": info.etag}
    try:
        config.callback.send(uid, {"id": uid, "status": "processing", "object": identity})
    except CallbackRejected as exc:
        if exc.status in (404, 409):
            logger.info("Skipping upload %s: callback answered %s.", uid, exc.status)
            return Outcome("skipped", uid, reason=f"callback answered {exc.status}")
        raise
    try:
        payload = _render_and_store(uid, source, store, config)
    except ProcessingError as exc:
        payload = _failed(exc.code, exc.message)
    except (StorageError, CallbackError):  # retryable: _render_and_store raises no other StorageError
        raise
    except Exception:
        logger.exception("Unexpected error processing upload %s (%s).", uid, key)
        payload = _failed(INTERNAL_ERROR, INTERNAL_ERROR_MESSAGE)
    return _report(uid, key, store, config, {**payload, "object": identity})


def _failed(code: str, message: str) -> dict[str, Any]:
    return {"status": "failed", "error": {"code": code, "message": message}}


def _report(uid: str, key: str, store: ObjectStore, config: ProcessorConfig, payload: dict[str, Any]) -> Outcome:
    try:
        config.callback.send(uid, {"id": uid, **payload})
    except CallbackRejected as exc:
        if exc.status not in (404, 409):
            raise
        return Outcome("skipped", uid, reason=f"callback answered {exc.status}")
    if payload["status"] == "failed":
        return Outcome("failed", uid, reason=payload["error"]["code"])
    try:
        store.mark_completed(key)
    except StorageError:  # only the lifecycle tag is lost: the original may expire early
        logger.warning("Could not mark %s completed.", key, exc_info=True)
    return Outcome("completed", uid)


def _render(source: BinaryIO, config: ProcessorConfig):
    """render_variants in this process, or with ``config.isolate`` in a bounded child process."""
    options = {"max_pixels": config.max_pixels, "allowed_formats": config.allowed_formats, "limits": config.limits,
               "animation": config.animation}
    if config.isolate:
        # Loaded where rendering is isolated only: Lambda renders in-process and never needs the forkserver.
        from realtime_uploads.processing.sandbox import render_isolated

        return render_isolated(source.read(), config.variants, **options)
    return render_variants(source, config.variants, **options)


def _render_and_store(uid: str, source: BinaryIO, store: ObjectStore, config: ProcessorConfig) -> dict[str, Any]:
    """Render, store every file of every variant, and return the ``completed`` body (contract 0.2)."""
    original, rendered = _render(source, config)
    try:
        variants = []
        for variant in rendered:
            files = []
            for file in variant.files:
                vkey = variant_key(config.variant_prefix, uid, variant.name, file.extension)
                store.put(vkey, file.data, content_type=file.content_type, cache_control=VARIANT_CACHE_CONTROL)
                files.append({"format": file.format, "key": vkey, "size": file.size})
            variants.append({
                "name": variant.name, "key": files[-1]["key"], "width": variant.width,
                "height": variant.height, "format": files[-1]["format"], "size": files[-1]["size"],
                "animated": variant.animated, "formats": files,
            })
    except StorageError as exc:
        if exc.retryable:
            raise
        raise ProcessingError(STORAGE_ERROR, f"Could not store the variants: {exc}") from exc
    body = {
        "status": "completed",
        "original": {"width": original.width, "height": original.height, "format": original.format},
        "variants": variants,
    }
    if original.placeholder:
        body.update(placeholder=original.placeholder, color=original.color)
    return body
