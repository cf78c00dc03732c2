"""Photo intake with no Flask in it: sniff, refuse the hostile, orient, strip, re-encode.

Contract (owned by the imaging work; app/photos relies on these names):

- ``ImageLimits``: max_bytes, max_pixels, thumb_px, display_px, fmt ('webp'|'jpeg'),
  keep_original.
- ``process_image(data: bytes, limits: ImageLimits) -> ProcessedImage``: raises
  ``ImageRefused`` (``.code`` one of REFUSAL_CODES, ``.params`` dict for the message).
- ``ProcessedImage``: source_format ('jpeg'|'png'|'webp'|'heif'), thumb, display,
  original (``Rendition | None``), gps (``GpsFix | None``, read before stripping, never stored),
  taken_on (``date | None`` from EXIF DateTimeOriginal).
- ``Rendition``: data (bytes), width, height, fmt, content_type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

# Why a file was refused; app/photos turns each into a translated, specific message.
REFUSAL_CODES = (
    "empty",  # no bytes
    "too_large",  # params: limit_mb
    "unknown_type",  # not JPEG, PNG, WebP or HEIC/HEIF by its content
    "svg",  # SVG is never accepted
    "polyglot",  # params: kind ('html', 'zip', 'svg', 'trailing')
    "animated",  # more than one frame
    "too_many_pixels",  # params: megapixels, limit_megapixels
    "broken",  # could not be decoded
)


class ImageRefused(ValueError):
    """An upload that is not stored, with a machine code and the parameters of its message."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class ImageLimits:
    """What an installation accepts and produces (from HERITAGE_PHOTO_* settings)."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 50_000_000
    thumb_px: int = 320
    display_px: int = 1600
    fmt: str = "webp"
    keep_original: bool = False


@dataclass(frozen=True)
class GpsFix:
    """Where the camera said the photo was taken; offered to the resident, never kept."""

    lat: float
    lon: float
    accuracy_m: float | None = None


@dataclass(frozen=True)
class Rendition:
    """One re-encoded size of a photo, free of any metadata."""

    data: bytes
    width: int
    height: int
    fmt: str
    content_type: str


@dataclass(frozen=True)
class ProcessedImage:
    """The result of intake: the sizes to store, plus what the camera said (not stored)."""

    source_format: str
    thumb: Rendition
    display: Rendition
    original: Rendition | None = None
    gps: GpsFix | None = None
    taken_on: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def process_image(data: bytes, limits: ImageLimits) -> ProcessedImage:
    """Check, orient, strip and re-encode one uploaded image (raises ImageRefused)."""
    raise NotImplementedError
