"""What a variant is asked to be: :class:`VariantSpec`, built from the ``VARIANTS`` setting.

A variant is one size (a bounding box, never upscaled) in one or more
formats, listed in order of preference with the fallback last, as a
``<picture>`` lists its ``<source>`` elements before its ``<img>``
(HTML Living Standard, "The picture element"). Every format of a variant
has the same pixels. What rendering it produced is
:class:`realtime_uploads.processing.image.rendered.RenderedVariant`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from realtime_uploads.core.formats import DEFAULT_QUALITY, OUTPUT_FORMATS

#: Most formats one variant may list (AVIF, WebP, JPEG and PNG are all there are).
MAX_FORMATS = len(OUTPUT_FORMATS)


def _quality_table(quality, formats: tuple[str, ...], name: str) -> tuple[tuple[str, int], ...]:
    if quality is None:
        table = {}
    elif isinstance(quality, Mapping):
        table = {str(k).upper(): v for k, v in quality.items()}
        if unknown := sorted(set(table) - set(formats)):
            raise ValueError(f"Variant {name!r}: quality names formats it does not render: {unknown}.")
    else:
        table = dict.fromkeys(formats, quality)
    for fmt, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            raise ValueError(f"Variant {name!r}: quality of {fmt} must be a whole number in 1..100, got {value!r}.")
    return tuple((fmt, table.get(fmt, DEFAULT_QUALITY[fmt])) for fmt in formats)


@dataclass(frozen=True, init=False)
class VariantSpec:
    """Fit inside ``width`` x ``height`` pixels, in ``format`` (one name or a list, fallback last).

    ``quality``: one number 1..100 for every lossy format, ``{format: number}``,
    or None for the defaults (:data:`~.formats.DEFAULT_QUALITY`); PNG ignores it.
    ``animated``: an animated GIF/WebP original becomes an animated WebP
    (needs WEBP among the formats; the other formats are then not rendered).
    Raises ValueError naming the variant for anything else.
    """

    name: str
    width: int
    height: int
    formats: tuple[str, ...]
    qualities: tuple[tuple[str, int], ...]
    animated: bool = False

    def __init__(self, name: str, width: int, height: int, format="WEBP", quality=None, *, animated: bool = False):
        fmts = (format,) if isinstance(format, str) else tuple(format)
        fmts = tuple(str(f).upper() for f in fmts)
        if not name:
            raise ValueError("A variant needs a non-empty name.")
        if not fmts or len(fmts) > MAX_FORMATS or len(set(fmts)) != len(fmts):
            raise ValueError(f"Variant {name!r}: format must be one format or a list of 1..{MAX_FORMATS} "
                             "different formats.")
        if bad := [f for f in fmts if f not in OUTPUT_FORMATS]:
            raise ValueError(f"Variant {name!r}: format {bad[0]} not in {sorted(OUTPUT_FORMATS)}.")
        for value in (width, height):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Variant {name!r}: width and height must be positive pixels.")
        if not isinstance(animated, bool):
            raise ValueError(f"Variant {name!r}: animated must be True or False.")
        if animated and "WEBP" not in fmts:
            raise ValueError(f"Variant {name!r}: an animated variant needs WEBP among its formats.")
        for attr, value in (("name", name), ("width", width), ("height", height), ("formats", fmts),
                            ("qualities", _quality_table(quality, fmts, name)), ("animated", animated)):
            object.__setattr__(self, attr, value)

    @property
    def format(self) -> str:
        """The fallback format: the last of :attr:`formats`."""
        return self.formats[-1]

    @property
    def quality(self) -> int:
        """The fallback format's quality (1..100)."""
        return self.qualities[-1][1]

    def quality_for(self, fmt: str) -> int:
        """The quality (1..100) ``fmt`` is encoded at; KeyError for a format this variant does not render."""
        return dict(self.qualities)[fmt]
