"""What an image file's bytes say before any pixel is decoded (docs/security.md items 23-24).

The type is decided from magic bytes alone; the structure is walked (JPEG segments and scans,
PNG chunks, WebP RIFF chunks, ISO-BMFF boxes) to find where the image ends, whether it is
animated and how many pixels it declares. Polyglots (markup or a ZIP end record outside the
compressed pixels, or data after the image), SVG, animation and pixel bombs are refused here
with an ``ImageRefused`` code; app.media.imaging decodes only what passes.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
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


# A tag name needs a delimiter after it to mean markup (fewer chance matches in binary data).
_HTML_MARKERS = re.compile(rb"<(?:html|script|svg|body|iframe)[\s/>]|<!doctype\s", re.IGNORECASE)
_ZIP_EOCD = b"PK\x05\x06"
_ZIP_TAIL = 65536 + 22  # the end record sits within the last 64 KiB comment + its own 22 bytes
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
# Top-level ISO-BMFF boxes an image file (or an image sequence) may hold.
_BMFF_TOP_LEVEL = {
    b"ftyp", b"meta", b"mdat", b"moov", b"free", b"skip", b"uuid", b"wide", b"pdin", b"styp",
    b"sidx", b"moof", b"mfra", b"emsg", b"prft", b"idat", b"mmpu", b"meco", b"ssix", b"jumb",
}  # fmt: skip
_HEIF_SEQUENCE_BRANDS = {b"msf1", b"hevc", b"hevx", b"heis", b"avis"}


# --- sniffing and structure ----------------------------------------------------------------------


@dataclass
class _Shape:
    """What the file's structure says before decoding: its end, size and whether animated."""

    end: int | None = None  # offset just after the image's last byte; None: unknown
    width: int | None = None
    height: int | None = None
    animated: bool = False
    # (start, end) of compressed pixel data: random bytes in which a marker may occur by
    # chance (a 4-letter one about once per 500 MB), so markers are looked for elsewhere.
    pixels: list[tuple[int, int]] = field(default_factory=list)


def sniff(data: bytes) -> str:
    """The format by magic bytes ('jpeg', 'png', 'webp', 'heif'), or a refusal."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and len(data) >= 16:
        size = int.from_bytes(data[:4], "big")
        brands = {data[8:12]}
        end = min(max(size, 16), len(data), 4096)
        brands.update(data[i : i + 4] for i in range(16, end - 3, 4))
        if brands & _HEIF_BRANDS and data[8:12] not in {b"avif", b"avis"}:
            return "heif"
    head = data[:1024].lstrip(b"\xef\xbb\xbf\xfe\xff\x00 \t\r\n")
    if head.startswith(b"<") or b"<svg" in data[:4096].lower():
        raise ImageRefused("svg")
    raise ImageRefused("unknown_type")


def _jpeg_shape(data: bytes) -> _Shape:
    """Walk JPEG segments and entropy-coded scans to the final EOI; read SOF's size."""
    shape = _Shape()
    n = len(data)
    pos = 2
    while pos + 2 <= n:
        if data[pos] != 0xFF:
            raise ImageRefused("broken")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # EOI
            shape.end = pos + 2
            return shape
        if marker in (0x01, *range(0xD0, 0xD8)):  # stand-alone markers
            pos += 2
            continue
        if pos + 4 > n:
            return shape  # cut short inside a segment header
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            raise ImageRefused("broken")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if pos + 9 <= n and shape.width is None:
                shape.height = int.from_bytes(data[pos + 5 : pos + 7], "big")
                shape.width = int.from_bytes(data[pos + 7 : pos + 9], "big")
        pos += 2 + length
        if marker == 0xDA:  # start of scan: skip entropy data to the next real marker
            start = pos
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    shape.pixels.append((start, n))
                    return shape  # truncated: the decoder will say so
                following = data[pos + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    pos += 1 if following == 0xFF else 2
                    continue
                break
            shape.pixels.append((start, pos))
    return shape


def _png_shape(data: bytes) -> _Shape:
    """Walk PNG chunks to IEND; IHDR's size; acTL before IDAT means APNG (animated)."""
    shape = _Shape()
    n = len(data)
    pos = 8
    seen_idat = False
    while pos + 12 <= n:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if length > 0x7FFFFFFF:
            raise ImageRefused("broken")
        if kind == b"IHDR" and length >= 8:
            shape.width = int.from_bytes(data[pos + 8 : pos + 12], "big")
            shape.height = int.from_bytes(data[pos + 12 : pos + 16], "big")
        elif kind == b"acTL" and not seen_idat:
            shape.animated = True
        elif kind == b"IDAT":
            seen_idat = True
        if kind in (b"IDAT", b"fdAT"):
            shape.pixels.append((pos + 8, pos + 8 + length))
        pos += 12 + length
        if kind == b"IEND":
            shape.end = pos
            return shape
    return shape


def _webp_shape(data: bytes) -> _Shape:
    """The RIFF size gives the end; VP8X flags or ANIM/ANMF chunks mean animation."""
    shape = _Shape(end=8 + int.from_bytes(data[4:8], "little"))
    n = min(len(data), shape.end)
    pos = 12
    while pos + 8 <= n:
        kind = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = data[pos + 8 : pos + 8 + min(length, 32)]
        if kind == b"VP8X" and len(body) >= 10:
            if body[0] & 0x02:
                shape.animated = True
            shape.width = 1 + int.from_bytes(body[4:7], "little")
            shape.height = 1 + int.from_bytes(body[7:10], "little")
        elif kind in (b"ANIM", b"ANMF"):
            shape.animated = True
        elif kind == b"VP8 " and len(body) >= 10 and shape.width is None:
            shape.width = int.from_bytes(body[6:8], "little") & 0x3FFF
            shape.height = int.from_bytes(body[8:10], "little") & 0x3FFF
        elif kind == b"VP8L" and len(body) >= 5 and shape.width is None:
            bits = int.from_bytes(body[1:5], "little")
            shape.width = (bits & 0x3FFF) + 1
            shape.height = ((bits >> 14) & 0x3FFF) + 1
        if kind in (b"VP8 ", b"VP8L", b"ALPH", b"ANMF"):
            shape.pixels.append((pos + 8, pos + 8 + length))
        pos += 8 + length + (length & 1)
    return shape


def _heif_shape(data: bytes) -> _Shape:
    """Walk top-level ISO-BMFF boxes: the last one's end is the file's; 'moov' is a sequence."""
    shape = _Shape()
    n = len(data)
    pos = 0
    while pos + 8 <= n:
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if size == 1:
            if pos + 16 > n:
                break
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = n - pos
        if size < header or kind not in _BMFF_TOP_LEVEL:
            break  # not a box of an image file: what follows is not part of the image
        if kind == b"moov":
            shape.animated = True  # an image sequence (HEIC "live"/burst), not a still
        if kind == b"ftyp" and data[pos + 8 : pos + 12] in _HEIF_SEQUENCE_BRANDS:
            shape.animated = True
        if kind == b"mdat":
            shape.pixels.append((pos + header, pos + size))
        pos += size
    # A last box running past the end is a cut-off file (the decoder says 'broken').
    shape.end = pos if pos <= n else None
    return shape


_SHAPERS = {"jpeg": _jpeg_shape, "png": _png_shape, "webp": _webp_shape, "heif": _heif_shape}


def _allowed_trailer(fmt: str, tail: bytes) -> bool:
    """Trailing bytes that cameras add and that are not a second document.

    Zero/0xFF padding, and for JPEG the extra pictures phones append after the main image:
    MPF/MPO secondary JPEGs (depth maps, previews) and a Motion Photo's MP4 video. They are
    dropped with everything else (only re-encoded pixels are stored), and HTML or ZIP content
    anywhere in the file is refused before this is asked.
    """
    if not tail.strip(b"\x00\xff"):
        return True
    if fmt == "jpeg":
        return tail.startswith(b"\xff\xd8\xff") or tail[4:8] == b"ftyp"
    return False


def check_structure(data: bytes, fmt: str, max_pixels: int) -> _Shape:
    """Refuse polyglots, animation and pixel bombs from the bytes alone, before decoding."""
    try:
        shape = _SHAPERS[fmt](data)
    except (IndexError, ValueError, struct.error) as exc:
        if isinstance(exc, ImageRefused):
            raise
        raise ImageRefused("broken") from exc
    # Everything but compressed pixels: headers, metadata, comments and anything trailing.
    regions, previous = [], 0
    for start, end in shape.pixels:
        if start > previous:
            regions.append((previous, start))
        previous = max(previous, end)
    regions.append((previous, len(data)))
    zip_window = len(data) - _ZIP_TAIL
    for start, end in regions:
        found = _HTML_MARKERS.search(data, start, end)
        if found is not None:
            kind = "svg" if found.group(0)[:4].lower() == b"<svg" else "html"
            raise ImageRefused("polyglot", kind=kind)
        # A ZIP reader looks for the end record in the last 64 KiB; it cannot sit in pixels.
        if end > zip_window and data.find(_ZIP_EOCD, max(start, zip_window), end) >= 0:
            raise ImageRefused("polyglot", kind="zip")
    if shape.end is None or shape.end > len(data):
        raise ImageRefused("broken")  # no end marker (IEND, EOI, last box): cut short
    if shape.end < len(data):
        if not _allowed_trailer(fmt, data[shape.end :]):
            raise ImageRefused("polyglot", kind="trailing")
    if shape.animated:
        raise ImageRefused("animated")
    if shape.width is not None and shape.height is not None:
        check_pixels(shape.width, shape.height, max_pixels)
    return shape


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Refuse a declared size above the pixel limit (or an empty one)."""
    if width <= 0 or height <= 0:
        raise ImageRefused("broken")
    if width * height > max_pixels:
        raise ImageRefused(
            "too_many_pixels",
            megapixels=round(width * height / 1_000_000, 1),
            limit_megapixels=round(max_pixels / 1_000_000, 1),
        )
