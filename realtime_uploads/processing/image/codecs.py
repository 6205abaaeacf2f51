"""Decoders for the formats a project allows: Pillow's own, and pi-heif's HEIF opener registered on demand.

AVIF is Pillow's own plugin (libavif, in Pillow's wheels since 11.3); HEIF/HEIC
comes from pi-heif (pillow-heif's decoder-only build: libheif with libde265,
no encoder), registered with Pillow only when ``ALLOWED_CONTENT_TYPES`` allows
HEIC, so nothing else in the process gains a HEIF decoder by importing this
package.
"""

from __future__ import annotations

import threading
from collections.abc import Collection

from PIL import Image, features

from realtime_uploads.core.errors import CodecMissing

_heif_lock = threading.Lock()
_heif_registered = False


def enable_decoders(formats: Collection[str]) -> None:
    """Make the Pillow plugins of ``formats`` openable: registers pi-heif's HEIF opener once, when asked for.

    Raises CodecMissing for HEIF without pi-heif (``pip install pi-heif``) and AVIF without libavif.
    Thumbnails, depth and auxiliary images of a HEIF are not read (fewer parsers on hostile bytes).
    """
    global _heif_registered
    if "AVIF" in formats and not features.check("avif"):
        raise CodecMissing("AVIF input needs Pillow 11.3 or newer built with libavif (PyPI's wheels are).")
    if "HEIF" not in formats or _heif_registered:
        return
    with _heif_lock:
        if _heif_registered:
            return
        try:
            import pi_heif
        except ImportError as exc:
            raise CodecMissing("HEIC/HEIF input needs pi-heif: pip install pi-heif.") from exc
        pi_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
        Image.init()
        _heif_registered = True
