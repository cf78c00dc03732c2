"""Photo intake (app.media.imaging) against a corpus of hostile and awkward files made here.

Every file is built by the test from Pillow output and byte surgery: bombs, polyglots, SVG,
animation, truncation, odd colour modes and profiles, and camera metadata that must never
survive. Outputs are checked byte by byte with parsers of their own (not the module's).
"""

from __future__ import annotations

import io
import math
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from datetime import date
from pathlib import Path

import pillow_heif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from app.media.imaging import (
    REFUSAL_CODES,
    GpsFix,
    ImageLimits,
    ImageRefused,
    ProcessedImage,
    Rendition,
    process_image,
)

pillow_heif.register_heif_opener()

SMALL = ImageLimits(thumb_px=32, display_px=96)
XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="58,42.0N"/></rdf:RDF>'
    b'</x:xmpmeta><?xpacket end="w"?>'
)


# --- makers --------------------------------------------------------------------------------------


def picture(size: tuple[int, int] = (120, 80), mode: str = "RGB") -> Image.Image:
    """A small image with structure (two halves, a gradient), in the given mode."""
    width, height = size
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    im.paste((220, 30, 30), (0, 0, width // 2, height))  # left half red
    return im.convert(mode) if mode != "RGB" else im


def gps_exif(
    lat: tuple[float, float, float] = (58, 42, 30.0),
    lat_ref: str = "N",
    lon: tuple[float, float, float] = (5, 54, 36.0),
    lon_ref: str = "E",
    accuracy: float | None = 4.5,
    orientation: int = 1,
    taken: str | None = "2026:05:01 14:03:22",
) -> Image.Exif:
    """EXIF with a GPS fix, orientation, DateTimeOriginal, and a camera model."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0110] = "PhoneCam 9"
    gps: dict[int, object] = {1: lat_ref, 2: lat, 3: lon_ref, 4: lon}
    if accuracy is not None:
        gps[31] = accuracy
    exif[0x8825] = gps
    if taken:
        exif[0x8769] = {0x9003: taken}
    return exif


def jpeg(im: Image.Image | None = None, **save: object) -> bytes:
    """JPEG bytes of an image (default: picture())."""
    buffer = io.BytesIO()
    (im or picture()).save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


def png(im: Image.Image | None = None, **save: object) -> bytes:
    """PNG bytes of an image."""
    buffer = io.BytesIO()
    (im or picture()).save(buffer, "PNG", **save)
    return buffer.getvalue()


def webp(im: Image.Image | None = None, **save: object) -> bytes:
    """WebP bytes of an image."""
    buffer = io.BytesIO()
    (im or picture()).save(buffer, "WEBP", **save)
    return buffer.getvalue()


def heic(im: Image.Image | None = None, **save: object) -> bytes:
    """HEIC bytes (pillow-heif's encoder; kept small, x265 is slow)."""
    buffer = io.BytesIO()
    (im or picture((64, 48))).save(buffer, "HEIF", quality=60, **save)
    return buffer.getvalue()


def insert_segment(data: bytes, marker: int, payload: bytes) -> bytes:
    """A JPEG with one more segment right after SOI."""
    return (
        data[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload + data[2:]
    )


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_raw(width: int, height: int, bit_depth: int, colour: int, rows: bytes) -> bytes:
    """A PNG written by hand from filtered rows (for sizes and depths Pillow will not write)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", rows)
        + png_chunk(b"IEND", b"")
    )


def png_bomb(side: int = 20_000) -> bytes:
    """A ~48 KB PNG declaring side x side 1-bit pixels (400 MP by default): all zeros."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)
    chunks = [compressor.compress(row * 1000) for _ in range(side // 1000)]
    chunks.append(compressor.flush())
    return png_raw(side, side, 1, 0, b"".join(chunks))


def _s15(value: float) -> bytes:
    """An ICC s15Fixed16Number."""
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(x: float, y: float, z: float) -> bytes:
    """An ICC XYZType."""
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def _desc_tag(text: str) -> bytes:
    """An ICC v2 textDescriptionType."""
    ascii_text = text.encode() + b"\0"
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + b"\0" * 8
        + b"\0\0\0"
        + b"\0" * 67
    )


def icc_profile(space: bytes, pcs: bytes, tags: dict[bytes, bytes], klass: bytes) -> bytes:
    """An ICC v2.1 profile assembled from tags."""
    tags = {b"desc": _desc_tag("test profile"), b"cprt": b"text\0\0\0\0none\0", **tags}
    tags.setdefault(b"wtpt", _xyz_tag(0.9642, 1.0, 0.8249))
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags.items():
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0\0\0\0"
        + bytes([2, 0x10, 0, 0])
        + klass
        + space
        + pcs
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def swapped_rgb_profile() -> bytes:
    """An RGB matrix profile whose red and green primaries are swapped (sRGB's D50 values).

    Applying it turns pure red into green: proof that a conversion used the embedded profile.
    """
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233)  # gamma 2.2
    return icc_profile(
        b"RGB ",
        b"XYZ ",
        {
            b"rXYZ": _xyz_tag(0.3851, 0.7169, 0.0971),  # sRGB green
            b"gXYZ": _xyz_tag(0.4361, 0.2225, 0.0139),  # sRGB red
            b"bXYZ": _xyz_tag(0.1431, 0.0606, 0.7141),
            b"rTRC": curve,
            b"gTRC": curve,
            b"bTRC": curve,
        },
        b"mntr",
    )


def odd_cmyk_profile() -> bytes:
    """A CMYK lut8 profile (Lab PCS) in which pure cyan prints as red and everything else
    as expected: proof that a CMYK conversion used the embedded profile."""
    red_lab, white_lab, black_lab = (54, 80, 67), (100, 0, 0), (0, 0, 0)
    clut = b""
    for c in (0, 1):
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    if k or (c and m) or (c and y) or (m and y):
                        lab = black_lab
                    elif c:
                        lab = red_lab
                    elif m:
                        lab = (48, 74, -3)
                    elif y:
                        lab = (89, -5, 93)
                    else:
                        lab = white_lab
                    lightness, a, b = lab
                    clut += bytes([round(lightness * 255 / 100), a + 128, b + 128])
    identity = bytes(range(256))
    lut = (
        b"mft1\0\0\0\0"
        + bytes([4, 3, 2, 0])
        + b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
        + identity * 4
        + clut
        + identity * 3
    )
    return icc_profile(b"CMYK", b"Lab ", {b"A2B0": lut}, b"prtr")


# --- independent output checks ---------------------------------------------------------------


def jpeg_segments(data: bytes) -> tuple[list[int], int]:
    """The markers of a JPEG's header segments and the offset just after its EOI."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while True:
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        if marker == 0xD9:
            return markers, pos + 2
        markers.append(marker)
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        pos += 2 + length
        if marker == 0xDA:  # skip entropy-coded data
            while True:
                pos = data.index(b"\xff", pos)
                if data[pos + 1] == 0 or 0xD0 <= data[pos + 1] <= 0xD7:
                    pos += 2
                    continue
                break


def webp_chunks(data: bytes) -> tuple[list[bytes], int]:
    """The chunk types of a WebP file and the end its RIFF header declares."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    end = 8 + struct.unpack("<I", data[4:8])[0]
    kinds, pos = [], 12
    while pos < end:
        kind, length = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        kinds.append(kind)
        pos += 8 + length + (length & 1)
    return kinds, end


def assert_clean(rendition: Rendition) -> Image.Image:
    """No metadata of any kind, nothing after the format's end, and the declared size."""
    data = rendition.data
    for needle in (b"Exif", b"GPS", b"<x:xmpmeta", b"xmp", b"ICC_PROFILE", b"8BIM", b"Photo"):
        assert needle not in data, needle
    for needle in (b"PhoneCam", b"comment", b"<html", b"<script", b"PK\x03\x04", b"PK\x05\x06"):
        assert needle not in data, needle
    if rendition.fmt == "jpeg":
        markers, end = jpeg_segments(data)
        assert end == len(data)
        # Only JFIF (APP0), tables, frame and scans: no APPn metadata, no COM.
        assert set(markers) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDA, 0xDD}, markers
        assert rendition.content_type == "image/jpeg"
    else:
        kinds, end = webp_chunks(data)
        assert end == len(data)
        assert set(kinds) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}, kinds
        assert rendition.content_type == "image/webp"
    im = Image.open(io.BytesIO(data))
    im.load()
    assert im.format == {"jpeg": "JPEG", "webp": "WEBP"}[rendition.fmt]
    assert len(im.getexif()) == 0
    assert not {"exif", "icc_profile", "xmp", "comment", "XML:com.adobe.xmp"} & set(im.info)
    assert im.size == (rendition.width, rendition.height)
    return im


def assert_all_clean(result: ProcessedImage) -> None:
    """Every rendition of a result is clean."""
    for rendition in (result.thumb, result.display, result.original):
        if rendition is not None:
            assert_clean(rendition)


def refused(data: bytes, limits: ImageLimits = SMALL) -> ImageRefused:
    """The refusal of data (the test fails if it was accepted)."""
    with pytest.raises(ImageRefused) as info:
        process_image(data, limits)
    assert info.value.code in REFUSAL_CODES
    return info.value


# --- refusals --------------------------------------------------------------------------------


def test_empty_and_too_large() -> None:
    """No bytes, or more bytes than allowed, are refused before anything is parsed."""
    assert refused(b"").code == "empty"
    data = jpeg()
    error = refused(data, ImageLimits(max_bytes=len(data) - 1))
    assert error.code == "too_large" and error.params == {"limit_mb": 0.0}
    big = refused(b"\xff\xd8\xff" + b"\0" * 3 * 1024 * 1024, ImageLimits(max_bytes=2 * 1024 * 1024))
    assert big.params == {"limit_mb": 2.0}


def test_png_bomb_is_refused_from_its_header_quickly() -> None:
    """A ~48 KB PNG that declares 400 megapixels is refused in well under a second."""
    bomb = png_bomb()
    assert len(bomb) < 60_000
    started = time.perf_counter()
    error = refused(bomb, ImageLimits())
    assert time.perf_counter() - started < 0.5
    assert error.code == "too_many_pixels"
    assert error.params == {"megapixels": 400.0, "limit_megapixels": 50.0}


def test_pixel_limit_is_the_configured_one() -> None:
    """An ordinary image above a lowered limit is refused with both figures."""
    error = refused(jpeg(picture((1200, 1000))), ImageLimits(max_pixels=1_000_000))
    assert error.code == "too_many_pixels"
    assert error.params == {"megapixels": 1.2, "limit_megapixels": 1.0}
    process_image(jpeg(picture((1000, 1000))), ImageLimits(max_pixels=1_000_000))


@pytest.mark.parametrize("side", [11_000, 20_000])
def test_pillow_bomb_checks_refuse_when_our_limit_is_higher(side: int) -> None:
    """With a generous limit, Pillow's own bomb warning (121 MP) and error (400 MP) refuse."""
    error = refused(png_bomb(side), ImageLimits(max_pixels=10**9))
    assert error.code == "too_many_pixels"
    assert error.params == {"megapixels": round(side * side / 1e6, 1), "limit_megapixels": 1000.0}


def test_bomb_warning_is_a_refusal_outside_pytest_too(tmp_path: Path) -> None:
    """The module makes Pillow's DecompressionBombWarning an error in a plain process.

    pytest turns every warning into an error, so this runs without pytest's filters.
    """
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bomb(11_000))  # 121 MP: above Pillow's warning, below its error
    code = (
        "import sys; from app.media.imaging import *\n"
        "try:\n"
        f"    process_image(open({str(path)!r}, 'rb').read(), ImageLimits(max_pixels=10**9))\n"
        "except ImageRefused as e:\n"
        "    print(e.code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    assert out.stdout.strip() == "too_many_pixels", out.stderr


def test_jpeg_html_polyglots() -> None:
    """HTML in a comment segment, appended, or as EXIF text: refused as an HTML polyglot."""
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    in_comment = insert_segment(jpeg(), 0xFE, html)
    Image.open(io.BytesIO(in_comment)).load()  # still a valid JPEG to Pillow
    assert refused(in_comment).params == {"kind": "html"}
    assert refused(jpeg() + html).params == {"kind": "html"}
    assert refused(jpeg() + b"<!DOCTYPE html><p>hi").params == {"kind": "html"}
    exif = Image.Exif()
    exif[0x010E] = "<iframe src=//evil>"
    assert refused(jpeg(exif=exif)).params == {"kind": "html"}
    assert refused(jpeg() + b"<svg onload=alert(1)>").params == {"kind": "svg"}


def test_jpeg_zip_polyglot() -> None:
    """A JPEG with a ZIP archive appended (a 'JAR/ZIP' polyglot) is refused as zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.txt", "x" * 100)
    data = jpeg() + buffer.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(data))
    assert refused(data).params == {"kind": "zip"}
    # A ZIP whose end record comes with a long archive comment is still found.
    with zipfile.ZipFile(buffer := io.BytesIO(), "w") as archive:
        archive.writestr("a", "b")
        archive.comment = b"c" * 60_000
    assert refused(jpeg() + buffer.getvalue()).params == {"kind": "zip"}


def test_trailing_data_after_the_image_is_refused() -> None:
    """Bytes after JPEG's EOI, PNG's IEND, WebP's RIFF size or HEIC's last box: refused."""
    tail = b"just some trailing bytes that are no image \x01\x02"
    for data in (jpeg(), png(), webp(), heic()):
        assert refused(data + tail).params == {"kind": "trailing"}, data[:12]


def test_multi_picture_jpeg_is_a_photo_not_an_animation() -> None:
    """A phone's MPF JPEG (a second, smaller picture after the first) gives the first one."""
    first, second = picture((200, 100)), Image.new("RGB", (100, 50), (0, 0, 200))
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    result = process_image(buffer.getvalue(), ImageLimits())
    assert (result.display.width, result.display.height) == (200, 100)
    assert_all_clean(result)


def test_camera_trailers_after_a_jpeg_are_tolerated() -> None:
    """Padding, an MPF secondary JPEG or a Motion Photo's MP4 after EOI: accepted, dropped."""
    mp4 = struct.pack(">I", 24) + b"ftypmp42" + b"\0\0\0\0mp42isom" + b"\0" * 100
    for tail in (b"\0" * 300, jpeg(picture((16, 16))), mp4):
        result = process_image(jpeg() + tail, SMALL)
        assert_all_clean(result)
        assert b"ftyp" not in result.display.data


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10"/>',
        b"\xef\xbb\xbf  \n<svg/>",
        b"<!DOCTYPE html><html><img src=x onerror=alert(1)></html>",
        b"\n\n<html>",
        b'<?xml version="1.0"?><x:xmpmeta/>',
    ],
)
def test_svg_and_markup_are_refused(data: bytes) -> None:
    """SVG (also named 'photo.jpg' by a client: names are never read) and markup: 'svg'."""
    assert refused(data).code == "svg"


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("GIF", {}), ("BMP", {}), ("TIFF", {}), ("ICO", {}), ("PPM", {}), ("AVIF", {"quality": 50})],
)
def test_other_formats_are_unknown(fmt: str, params: dict[str, object]) -> None:
    """GIF, BMP, TIFF, ICO, PPM and AVIF are not accepted, whatever they are called."""
    buffer = io.BytesIO()
    picture((32, 32)).save(buffer, fmt, **params)
    assert refused(buffer.getvalue()).code == "unknown_type"


def test_plain_text_and_noise_are_unknown() -> None:
    """Text and random bytes are neither images nor markup."""
    assert refused(b"hello, this is not an image").code == "unknown_type"
    assert refused(bytes(range(256)) * 10).code == "unknown_type"


def test_animated_webp_apng_and_heif_sequences_are_refused() -> None:
    """Two frames in WebP, APNG or a HEIF with two top-level images: 'animated'."""
    frames = [picture((40, 30)), picture((40, 30)).rotate(180)]
    animated_webp = webp(frames[0], save_all=True, append_images=frames[1:], duration=100)
    apng = png(frames[0], save_all=True, append_images=frames[1:], duration=100)
    assert b"ANMF" in animated_webp and b"acTL" in apng
    assert refused(animated_webp).code == "animated"
    assert refused(apng).code == "animated"
    two = heic(frames[0], save_all=True, append_images=frames[1:])
    assert refused(two).code == "animated"


@pytest.mark.parametrize("maker", [jpeg, png, webp, heic])
def test_truncated_files_are_broken(maker: object) -> None:
    """A file cut short is refused as broken (never half-decoded and stored)."""
    data = maker(picture((300, 200)))  # type: ignore[operator]
    for cut in (len(data) // 2, len(data) - 10):
        assert refused(data[:cut]).code in {"broken", "too_many_pixels"}
    assert refused(data[: len(data) // 2]).code == "broken"


def test_corrupt_header_sizes_are_broken() -> None:
    """A PNG claiming zero width, or a JPEG whose segments do not chain, is broken."""
    assert refused(png_raw(0, 10, 8, 0, zlib.compress(b"\0" * 10))).code == "broken"
    data = jpeg()
    after_app0 = 4 + struct.unpack(">H", data[4:6])[0]
    assert refused(data[:after_app0] + b"\x00\x01" + data[after_app0:]).code == "broken"


# --- what comes out ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["webp", "jpeg"])
def test_jpeg_metadata_never_survives_and_gps_is_read_first(fmt: str) -> None:
    """EXIF (with GPS), XMP, IPTC, an ICC profile and a comment go in; none comes out."""
    data = jpeg(
        picture((400, 300)),
        exif=gps_exif(),
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        comment=b"PhoneCam comment",
    )
    data = insert_segment(data, 0xE1, b"http://ns.adobe.com/xap/1.0/\0" + XMP)
    data = insert_segment(
        data, 0xED, b"Photoshop 3.0\x008BIM\x04\x04\0\0\0\0\0\x05\x1c\x02x\0\x01A"
    )
    source = Image.open(io.BytesIO(data))
    assert source.getexif()[0x8825] and "icc_profile" in source.info and "xmp" in source.info
    limits = ImageLimits(thumb_px=64, display_px=200, fmt=fmt, keep_original=True)
    result = process_image(data, limits)
    assert_all_clean(result)
    assert result.source_format == "jpeg"
    assert (result.display.width, result.display.height) == (200, 150)
    assert (result.thumb.width, result.thumb.height) == (64, 48)
    assert result.original is not None
    assert (result.original.width, result.original.height) == (400, 300)
    assert result.original.data != data
    expected_lat = 58 + 42 / 60 + 30 / 3600
    expected_lon = 5 + 54 / 60 + 36 / 3600
    assert result.gps == GpsFix(round(expected_lat, 7), round(expected_lon, 7), 4.5)
    assert result.taken_on == date(2026, 5, 1)


def test_gps_south_and_west_are_negative_and_accuracy_optional() -> None:
    """S latitudes and W longitudes come out negative; no accuracy tag means None."""
    exif = gps_exif((33, 51, 0.0), "S", (70, 36, 0.0), "W", accuracy=None, taken=None)
    result = process_image(jpeg(exif=exif), SMALL)
    assert result.gps is not None
    assert math.isclose(result.gps.lat, -(33 + 51 / 60), abs_tol=1e-6)
    assert math.isclose(result.gps.lon, -(70 + 36 / 60), abs_tol=1e-6)
    assert result.gps.accuracy_m is None
    assert result.taken_on is None
    assert_all_clean(result)


def test_no_or_nonsense_gps_is_none() -> None:
    """No GPS, or a latitude beyond 90 degrees, gives no position (and no error)."""
    assert process_image(jpeg(), SMALL).gps is None
    bad = gps_exif((95, 0, 0.0), "N")
    assert process_image(jpeg(exif=bad), SMALL).gps is None
    bad_date = gps_exif(taken="0000:00:00 00:00:00")
    assert process_image(jpeg(exif=bad_date), SMALL).taken_on is None


def test_heic_with_gps_and_xmp_comes_out_clean() -> None:
    """An iPhone-like HEIC: GPS read, date read, nothing of its metadata in the outputs."""
    data = heic(picture((64, 48)), exif=gps_exif(lat_ref="N", lon_ref="W"), xmp=XMP)
    assert b"Exif" in data and b"xmpmeta" in data
    for fmt in ("webp", "jpeg"):
        result = process_image(data, ImageLimits(thumb_px=32, display_px=48, fmt=fmt))
        assert result.source_format == "heif"
        assert result.gps is not None and result.gps.lon < 0 < result.gps.lat
        assert result.taken_on == date(2026, 5, 1)
        assert (result.display.width, result.display.height) == (48, 36)
        assert_all_clean(result)


def test_exif_orientation_is_applied_before_stripping() -> None:
    """Orientation 6 (rotate 90 degrees clockwise): sizes swap, the left half ends on top."""
    source = picture((120, 60))  # red on the left half
    result = process_image(jpeg(source, exif=gps_exif(orientation=6)), SMALL)
    assert (result.display.width, result.display.height) == (48, 96)
    assert (result.thumb.width, result.thumb.height) == (16, 32)
    shown = assert_clean(result.display).convert("RGB")
    top, bottom = shown.getpixel((24, 10)), shown.getpixel((24, 86))
    assert top[0] > 180 and top[1] < 80, top  # red now on top
    assert not (bottom[0] > 180 and bottom[1] < 80), bottom


def test_never_upscaled() -> None:
    """A small image keeps its size in every rendition."""
    result = process_image(png(picture((20, 10))), ImageLimits())
    assert (result.display.width, result.display.height) == (20, 10)
    assert (result.thumb.width, result.thumb.height) == (20, 10)


def test_rgb_icc_profile_is_applied_then_dropped() -> None:
    """Pixels tagged with a (swapped-primaries) profile are converted to sRGB by it."""
    red = Image.new("RGB", (40, 40), (255, 0, 0))
    data = png(red, icc_profile=swapped_rgb_profile())
    result = process_image(data, SMALL)
    out = assert_clean(result.display).convert("RGB").getpixel((20, 20))
    assert out[1] > 200 and out[0] < 60, out  # red in that space is sRGB green
    plain = assert_clean(process_image(png(red), SMALL).display).convert("RGB")
    assert plain.getpixel((20, 20))[0] > 230


def test_cmyk_jpeg_with_icc_becomes_srgb() -> None:
    """A CMYK JPEG is converted through its own profile (here cyan prints red)."""
    cmyk = Image.new("CMYK", (64, 32), (255, 0, 0, 0))
    cmyk.paste((0, 0, 0, 0), (32, 0, 64, 32))  # right half paper white
    with_profile = jpeg(cmyk, icc_profile=odd_cmyk_profile())
    for fmt in ("webp", "jpeg"):
        shown = assert_clean(process_image(with_profile, ImageLimits(fmt=fmt)).display)
        assert shown.mode == "RGB"
        left, right = shown.getpixel((8, 16)), shown.getpixel((56, 16))
        assert left[0] > 180 and left[1] < 90 and left[2] < 90, left
        assert min(right) > 230, right
    plain = assert_clean(process_image(jpeg(cmyk), SMALL).display).convert("RGB")
    cyan = plain.getpixel((4, 8))
    assert cyan[0] < 80 and cyan[1] > 180 and cyan[2] > 180, cyan


def test_sixteen_bit_png_keeps_its_tones() -> None:
    """16-bit grey is scaled to 8 bits (not clipped to white); 16-bit RGB decodes too."""
    width, height = 8, 4
    grey_rows = b"".join(b"\0" + struct.pack(">H", 0x8000) * width for _ in range(height))
    grey = png_raw(width, height, 16, 0, zlib.compress(grey_rows))
    value = assert_clean(process_image(grey, SMALL).display).convert("L").getpixel((2, 2))
    assert 110 < value < 145, value
    rgb_rows = b"".join(b"\0" + struct.pack(">HHH", 0xFFFF, 0x4000, 0) * width for _ in range(4))
    rgb = png_raw(width, height, 16, 2, zlib.compress(rgb_rows))
    pixel = assert_clean(process_image(rgb, SMALL).display).convert("RGB").getpixel((2, 2))
    assert pixel[0] > 240 and 50 < pixel[1] < 80 and pixel[2] < 15, pixel


def test_alpha_kept_in_webp_and_flattened_on_white_in_jpeg() -> None:
    """A transparent PNG stays transparent as WebP and turns white as JPEG."""
    im = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    im.paste((0, 0, 255, 255), (0, 0, 20, 40))
    data = png(im)
    as_webp = assert_clean(process_image(data, ImageLimits(fmt="webp")).display)
    assert as_webp.mode == "RGBA" and as_webp.getpixel((30, 20))[3] == 0
    as_jpeg = assert_clean(process_image(data, ImageLimits(fmt="jpeg")).display)
    assert as_jpeg.mode == "RGB" and min(as_jpeg.getpixel((30, 20))) > 245
    assert as_jpeg.getpixel((5, 20))[2] > 200


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "I;16"])
def test_every_png_mode_gives_clean_renditions(mode: str) -> None:
    """Palette, grey, bilevel, 16-bit grey and alpha modes all come out as clean sRGB."""
    im = picture((50, 30)).convert("RGBA").convert(mode) if mode != "PA" else None
    if mode == "PA":
        im = picture((50, 30)).convert("P")
        im.info["transparency"] = 0
    result = process_image(png(im), SMALL)
    assert_all_clean(result)
    assert result.source_format == "png"


def test_keep_original_of_a_huge_side_falls_back_to_jpeg() -> None:
    """WebP cannot hold a side over 16383 px: the kept original is then JPEG."""
    wide = Image.new("RGB", (17_000, 8), (10, 120, 10))
    result = process_image(png(wide), ImageLimits(fmt="webp", keep_original=True))
    assert result.original is not None and result.original.fmt == "jpeg"
    assert result.display.fmt == "webp" and result.display.width == 1600
    assert_all_clean(result)


# --- properties ------------------------------------------------------------------------------

_VALID = [jpeg(picture((40, 30))), png(picture((40, 30))), webp(picture((40, 30)))]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=600), st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"])))
def test_arbitrary_bytes_only_ever_raise_image_refused(data: bytes) -> None:
    """Whatever the bytes, the result is renditions or ImageRefused, nothing else."""
    try:
        assert_all_clean(process_image(data, SMALL))
    except ImageRefused as error:
        assert error.code in REFUSAL_CODES


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(_VALID),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    st.integers(0, 10_000),
)
def test_mutated_images_only_ever_raise_image_refused(
    data: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    """Valid images with bytes changed or cut: clean renditions or ImageRefused."""
    mutated = bytearray(data)
    for position, value in flips:
        mutated[position % len(mutated)] = value
    mutated = mutated[: max(1, len(mutated) - cut % 64)]
    try:
        assert_all_clean(process_image(bytes(mutated), SMALL))
    except ImageRefused as error:
        assert error.code in REFUSAL_CODES


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 700),
    st.integers(1, 700),
    st.sampled_from(["RGB", "RGBA", "L", "LA", "P", "CMYK"]),
    st.sampled_from(["jpeg", "png", "webp"]),
    st.sampled_from(["webp", "jpeg"]),
    st.integers(1, 8),
)
def test_random_sizes_and_modes_give_clean_fitting_renditions(
    width: int, height: int, mode: str, source: str, out: str, orientation: int
) -> None:
    """Any size, mode, source format and orientation: clean renditions within the limits."""
    im = picture((width, height)).convert("RGBA").convert(mode)
    if source == "jpeg" and mode not in ("RGB", "L", "CMYK"):
        im = im.convert("RGB")
    if source == "png" and mode == "CMYK":
        im = im.convert("RGB")
    exif = gps_exif(orientation=orientation)
    data = {"jpeg": jpeg, "png": png, "webp": webp}[source](im, exif=exif)
    limits = ImageLimits(thumb_px=40, display_px=300, fmt=out)
    result = process_image(data, limits)
    assert_all_clean(result)
    shown_w, shown_h = (height, width) if orientation >= 5 else (width, height)
    for rendition, px in ((result.display, 300), (result.thumb, 40)):
        scale = min(1.0, px / max(width, height))
        assert max(rendition.width, rendition.height) == min(max(width, height), px)
        # JPEG decodes at a reduced scale first, so the short side may round one pixel apart.
        assert abs(rendition.width - max(1, round(shown_w * scale))) <= 1
        assert abs(rendition.height - max(1, round(shown_h * scale))) <= 1


def test_markers_by_chance_in_pixel_data_are_not_polyglots() -> None:
    """Markup bytes inside compressed pixels (here stored IDAT) are pixels, not a document;
    the same bytes in a text chunk are refused."""
    row = b"<svg <html><body><script>PK\x05\x06"
    rows = b"".join(b"\0" + row for _ in range(4))
    stored = png_raw(len(row), 4, 8, 0, zlib.compress(rows, 0))
    assert b"<svg " in stored and b"PK\x05\x06" in stored
    assert_all_clean(process_image(stored, SMALL))
    iend = stored.rindex(b"IEND") - 4
    with_text = stored[:iend] + png_chunk(b"tEXt", b"Comment\0<html><p>x") + stored[iend:]
    assert refused(with_text).params == {"kind": "html"}
    with_zip = stored[:iend] + png_chunk(b"tEXt", b"Comment\0PK\x05\x06" + 18 * b"\0")
    assert refused(with_zip + stored[iend:]).params == {"kind": "zip"}
