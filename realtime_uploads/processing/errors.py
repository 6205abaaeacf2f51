"""Stable error codes the processor reports in a ``failed`` callback.

The codes are part of the public contract (README, "The event" and "Contract
version notes"): clients show them, so they never change meaning.
"""

NOT_AN_IMAGE = "not_an_image"
TOO_MANY_PIXELS = "too_many_pixels"
UNSUPPORTED_FORMAT = "unsupported_format"
CORRUPT_IMAGE = "corrupt_image"
STORAGE_ERROR = "storage_error"
#: Extension of the contract: the stored object is larger than MAX_SIZE (it
#: bypassed the presigned POST's content-length-range); refused before reading.
TOO_LARGE = "too_large"
#: Extension: the pipeline failed in a way it does not know (a bug, a decoder crash). Logged with
#: its traceback where it happened; the user is told to try again or try another file.
INTERNAL_ERROR = "internal_error"
#: Extension: set by Django, not the processor: no result arrived within PROCESSING_TIMEOUT, or the
#: file arrived but was never picked up before the upload expired.
TIMEOUT = "timeout"
#: Extension: one side of the image is more than MAX_ASPECT_RATIO times the other (a 1 x 49 000 000
#: PNG); refused from the header, before decoding.
ASPECT_RATIO = "aspect_ratio"
#: Extension: decoding would need more than MAX_DECODE_BYTES of memory (estimated from the header,
#: or the decoder ran out of the memory the sandbox allows); refused before or instead of decoding.
TOO_LARGE_TO_DECODE = "too_large_to_decode"
#: Extension: decoding and rendering the image used more than IMAGE_CPU_SECONDS of CPU time.
TIME_LIMIT = "time_limit"

ERROR_CODES = frozenset(
    {NOT_AN_IMAGE, TOO_MANY_PIXELS, UNSUPPORTED_FORMAT, CORRUPT_IMAGE, STORAGE_ERROR, TOO_LARGE, INTERNAL_ERROR,
     TIMEOUT, ASPECT_RATIO, TOO_LARGE_TO_DECODE, TIME_LIMIT}
)


class ProcessingError(Exception):
    """An upload that cannot be turned into variants, for a stated reason.

    ``code`` is one of :data:`ERROR_CODES`; ``message`` is a sentence a person
    can read. The pipeline turns this into a ``failed`` callback carrying
    ``{"code": code, "message": message}``.
    """

    def __init__(self, code: str, message: str):
        if code not in ERROR_CODES:
            raise ValueError(f"Unknown processing error code {code!r}; use one of {sorted(ERROR_CODES)}.")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
