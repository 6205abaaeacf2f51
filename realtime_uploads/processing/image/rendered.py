"""What rendering a variant produced: :class:`RenderedVariant` and its files, in the spec's order.

The spec it was rendered from is :class:`realtime_uploads.core.variants.VariantSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from realtime_uploads.core.formats import FORMAT_CONTENT_TYPES, FORMAT_EXTENSIONS


@dataclass(frozen=True)
class RenderedFile:
    """One encoded file of a variant; ``data`` is the whole file."""

    format: str
    data: bytes

    @property
    def size(self) -> int:
        """Length of ``data`` in bytes."""
        return len(self.data)

    @property
    def content_type(self) -> str:
        return FORMAT_CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        return FORMAT_EXTENSIONS[self.format]


@dataclass(frozen=True)
class RenderedVariant:
    """One variant: its size in pixels and its files, in the spec's order (the fallback last).

    ``format``, ``data``, ``size``, ``content_type`` and ``extension`` are those
    of the fallback file; ``animated`` is True when the files hold more than one frame.
    """

    name: str
    width: int
    height: int
    files: tuple[RenderedFile, ...]
    animated: bool = False
    frames: int = field(default=1, compare=False)

    @property
    def fallback(self) -> RenderedFile:
        return self.files[-1]

    @property
    def format(self) -> str:
        return self.fallback.format

    @property
    def data(self) -> bytes:
        return self.fallback.data

    @property
    def size(self) -> int:
        """Length of the fallback file in bytes."""
        return self.fallback.size

    @property
    def content_type(self) -> str:
        return self.fallback.content_type

    @property
    def extension(self) -> str:
        return self.fallback.extension
