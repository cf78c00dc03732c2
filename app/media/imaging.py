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

How (docs/security.md items 23-25): the type is decided from the bytes alone; the file's
structure is walked first (app.media.structure: segments, chunks, boxes) to find where the
image ends, whether it is animated and how many pixels it declares, all before any pixel is
decoded. Only then is it
decoded, by Pillow restricted to that one format, at reduced size where JPEG allows it. Every
output is re-encoded from pixels into a fresh image with empty ``info``: no EXIF, XMP, IPTC,
ICC profile or comment can be carried over.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from PIL import Image, ImageCms, ImageOps

from app.media.structure import REFUSAL_CODES, ImageRefused, check_pixels, check_structure, sniff

# The contract's names (app/photos and the tests import them from here).
__all__ = [
    "REFUSAL_CODES",
    "GpsFix",
    "ImageLimits",
    "ImageRefused",
    "ProcessedImage",
    "Rendition",
    "process_image",
    "read_gps",
    "read_taken_on",
]


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


# --- setup -------------------------------------------------------------------------------------

_HEIF_READY = False


def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF once (pillow-heif), without decoding embedded extras."""
    global _HEIF_READY
    if _HEIF_READY:
        return
    import pillow_heif

    # Depth maps and auxiliary images (gain maps, mattes) are never used: do not decode them.
    # Two decode threads: the machine has two cores and a request should not take more.
    pillow_heif.register_heif_opener(
        thumbnails=False, depth_images=False, aux_images=False, decode_threads=2
    )
    _HEIF_READY = True


# Pillow only warns below twice its own limit; a warning is a refusal here (security.md 24).
# The filter names this one category, so nothing else in the process changes behaviour.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

_PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "heif": "HEIF"}
_CONTENT_TYPE = {"webp": "image/webp", "jpeg": "image/jpeg"}
_WEBP_MAX_SIDE = 16383  # the WebP format cannot hold a larger side


# --- metadata read before stripping --------------------------------------------------------------


def _ratio(value: Any) -> float:
    """An EXIF rational (IFDRational or a (num, den) pair) as a float; NaN when undefined."""
    if isinstance(value, tuple) and len(value) == 2:
        num, den = value
        return float(num) / float(den) if den else math.nan
    return float(value)


def _dms(value: Any) -> float:
    """Degrees, minutes, seconds (three rationals) as decimal degrees."""
    if isinstance(value, tuple) and len(value) == 3:
        deg, minutes, seconds = (_ratio(v) for v in value)
        return deg + minutes / 60 + seconds / 3600
    return _ratio(value)


def _text(value: Any) -> str:
    """An EXIF ASCII value as stripped upper-case text."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip("\x00 ").upper()


def read_gps(exif: Image.Exif) -> GpsFix | None:
    """The GPS position in EXIF (S and W negative), with its accuracy when given; else None."""
    try:
        gps = exif.get_ifd(0x8825)
    except Exception:  # noqa: BLE001 - a malformed GPS IFD is no position, not a broken photo
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None
    try:
        lat, lon = _dms(gps[2]), _dms(gps[4])
        if _text(gps.get(1, "N")) == "S":
            lat = -lat
        if _text(gps.get(3, "E")) == "W":
            lon = -lon
        accuracy: float | None = None
        if 31 in gps:  # GPSHPositioningError, metres
            accuracy = _ratio(gps[31])
            if not math.isfinite(accuracy) or accuracy < 0:
                accuracy = None
    except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return None
    return GpsFix(lat=round(lat, 7), lon=round(lon, 7), accuracy_m=accuracy)


def read_taken_on(exif: Image.Exif) -> date | None:
    """The day of EXIF DateTimeOriginal ('YYYY:MM:DD HH:MM:SS'), when present and valid."""
    try:
        value = exif.get_ifd(0x8769).get(0x9003)
    except Exception:  # noqa: BLE001 - a malformed Exif IFD just has no date
        return None
    if not value:
        return None
    match = re.match(r"\s*(\d{4})[:\-](\d{2})[:\-](\d{2})", _text(value))
    if not match:
        return None
    try:
        taken = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return taken if taken.year >= 1826 else None  # the first photograph; older is a bad clock


# --- pixels --------------------------------------------------------------------------------------


def _fit_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """The size that fits within longest on its longer side, never larger than the source."""
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _working_mode(im: Image.Image) -> Image.Image:
    """Pixels in one of L, LA, RGB, RGBA, CMYK (8 bits), with alpha only where there is some."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # Pillow clips 16-bit grey to 255 on convert('L'): scale the range down instead.
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode == "F":
        return im.convert("L")
    if mode == "1":
        return im.convert("L")
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode in ("RGBX", "YCbCr", "LAB", "HSV"):
        return im.convert("RGB")
    if mode in ("RGBa", "La"):
        return im.convert("RGBA" if mode == "RGBa" else "LA")
    return im.convert("RGBA" if "A" in mode else "RGB")


def _srgb_profile() -> ImageCms.ImageCmsProfile:
    """The sRGB profile (built once)."""
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


_SRGB: ImageCms.ImageCmsProfile | None = None


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB or RGBA pixels in sRGB: the embedded profile applied, then dropped."""
    alpha = im.getchannel("A") if im.mode in ("LA", "RGBA") else None
    base = im.convert({"LA": "L", "RGBA": "RGB"}.get(im.mode, im.mode)) if alpha else im
    converted: Image.Image | None = None
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if source.profile.xcolor_space.strip() == base.mode.replace("L", "GRAY"):
                converted = ImageCms.profileToProfile(
                    base,
                    source,
                    _srgb_profile(),
                    renderingIntent=ImageCms.Intent.PERCEPTUAL,
                    outputMode="RGB",
                )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # an unusable profile: take the pixels as sRGB
    if converted is None:
        converted = base.convert("RGB")
    if alpha is not None and alpha.getextrema()[0] < 255:
        converted.putalpha(alpha)
    return converted


def _encode(im: Image.Image, fmt: str, quality: int | None = None) -> Rendition:
    """Encode pixels alone: a fresh image, no EXIF/XMP/ICC/comment can come along."""
    if fmt == "jpeg" and im.mode != "RGB":
        flat = Image.new("RGB", im.size, (255, 255, 255))
        flat.paste(im, mask=im.getchannel("A") if "A" in im.mode else None)
        im = flat
    im.info.clear()  # Pillow copies comment/xmp/icc from info into some encoders
    buffer = io.BytesIO()
    if fmt == "webp":
        im.save(buffer, "WEBP", quality=quality or 80, method=2, exif=b"", xmp=b"")
    else:
        im.save(
            buffer,
            "JPEG",
            quality=quality or 85,
            optimize=True,
            progressive=True,
            exif=b"",
            icc_profile=None,
        )
    return Rendition(
        data=buffer.getvalue(),
        width=im.width,
        height=im.height,
        fmt=fmt,
        content_type=_CONTENT_TYPE[fmt],
    )


def _open(data: bytes, fmt: str, limits: ImageLimits) -> Image.Image:
    """Open lazily with only the sniffed format allowed; check the pixel count before decoding."""
    if fmt == "heif":
        _register_heif()
    try:
        im = Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[fmt]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's message carries the count ("Image size (400000000 pixels) exceeds ...").
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(found.group(1)) if found else 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise ImageRefused(
            "too_many_pixels",
            megapixels=round(pixels / 1_000_000, 1),
            limit_megapixels=round(limits.max_pixels / 1_000_000, 1),
        ) from exc
    except Exception as exc:  # noqa: BLE001 - any failure to parse the header is a broken file
        raise ImageRefused("broken") from exc
    check_pixels(im.width, im.height, limits.max_pixels)
    # A JPEG with MPF pictures (depth maps, previews that phones add) opens as Pillow's "MPO"
    # with several frames: those are not animation, and only the first is ever decoded.
    if im.format != "MPO" and (getattr(im, "n_frames", 1) > 1 or getattr(im, "is_animated", False)):
        raise ImageRefused("animated")
    return im


def process_image(data: bytes, limits: ImageLimits) -> ProcessedImage:
    """Check, orient, strip and re-encode one uploaded image (raises ImageRefused)."""
    if not data:
        raise ImageRefused("empty")
    if len(data) > limits.max_bytes:
        raise ImageRefused("too_large", limit_mb=round(limits.max_bytes / (1024 * 1024), 1))
    if limits.fmt not in _CONTENT_TYPE:
        raise ValueError(f"unsupported output format {limits.fmt!r}")
    data = bytes(data)
    fmt = sniff(data)
    check_structure(data, fmt, limits.max_pixels)
    opened = im = _open(data, fmt, limits)
    source_size = im.size
    try:
        exif = im.getexif()
        gps, taken_on = read_gps(exif), read_taken_on(exif)
    except Exception:  # noqa: BLE001 - unreadable EXIF: no position, no date
        gps, taken_on = None, None
    icc = im.info.get("icc_profile") or None
    try:
        if fmt == "jpeg" and not limits.keep_original:
            # Decode at 1/2, 1/4 or 1/8 scale straight from the DCT when the display size
            # allows: the largest saving of the whole pipeline for big photos.
            # Sizes here are as stored, before orientation: draft works on the stored frame.
            im.draft(None, _fit_size(*source_size, limits.display_px))
        im.load()
        ImageOps.exif_transpose(im, in_place=True)  # no copy of 12 MP when already upright
        working = _working_mode(im)
        display_src = working
        if max(working.size) > limits.display_px:
            # reducing_gap=1.0: a box reduction by the whole factor first (as JPEG's DCT draft
            # does), then Lanczos for the rest: 0.07 s instead of 0.21 s CPU for a 12 MP HEIC.
            display_src = working.resize(
                _fit_size(*working.size, limits.display_px),
                Image.Resampling.LANCZOS,
                reducing_gap=1.0,
            )
        display_img = _to_srgb(display_src, icc)
        thumb_img = display_img
        if max(display_img.size) > limits.thumb_px:
            thumb_img = display_img.resize(
                _fit_size(*display_img.size, limits.thumb_px),
                Image.Resampling.LANCZOS,
                reducing_gap=3.0,
            )
        display = _encode(display_img, limits.fmt)
        thumb = _encode(thumb_img, limits.fmt)
        original = None
        if limits.keep_original:
            original_fmt = limits.fmt
            if max(working.size) > _WEBP_MAX_SIDE:
                original_fmt = "jpeg"
            original = _encode(_to_srgb(working, icc), original_fmt, quality=92)
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused(
            "too_many_pixels",
            megapixels=round(source_size[0] * source_size[1] / 1_000_000, 1),
            limit_megapixels=round(limits.max_pixels / 1_000_000, 1),
        ) from exc
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt pixel data
        raise ImageRefused("broken") from exc
    finally:
        opened.close()
    return ProcessedImage(
        source_format=fmt,
        thumb=thumb,
        display=display,
        original=original,
        gps=gps,
        taken_on=taken_on,
        extra={"source_width": source_size[0], "source_height": source_size[1]},
    )
