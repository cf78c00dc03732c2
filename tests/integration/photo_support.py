"""Helpers of the photo tests: images made here (never downloaded), uploads, stored files."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import ExifTags, Image
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.media.storage import storage_for
from app.models import Photo, PhotoStatus, Trace, User
from app.photos.operations import new_storage_key

# Where the test photos say they were taken: Alta (the make_trace fixture's default place).
GPS_LAT = 69.0 + 58.0 / 60 + 12.5 / 3600
GPS_LON = 23.0 + 16.0 / 60 + 12.0 / 3600


def _image(width: int, height: int) -> Image.Image:
    """A picture with some structure (a gradient), so encoders do real work."""
    img = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    return img


def jpeg(width: int = 800, height: int = 600, *, gps: bool = False, **save: Any) -> bytes:
    """A JPEG; with ``gps`` it carries a GPS position, a camera make and a date taken."""
    img = _image(width, height)
    buffer = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "TestCam"
        exif[ExifTags.Base.Software] = "secret-software-marker"
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd.update({1: "N", 2: (69.0, 58.0, 12.5), 3: "E", 4: (23.0, 16.0, 12.0), 31: 5.0})
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:05:01 10:00:00"
        save["exif"] = exif
    img.save(buffer, "JPEG", quality=85, **save)
    return buffer.getvalue()


def png(width: int = 400, height: int = 300) -> bytes:
    """A PNG."""
    buffer = io.BytesIO()
    _image(width, height).save(buffer, "PNG")
    return buffer.getvalue()


def webp(width: int = 400, height: int = 300) -> bytes:
    """A WebP."""
    buffer = io.BytesIO()
    _image(width, height).save(buffer, "WEBP", quality=80)
    return buffer.getvalue()


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A small PNG whose header claims a huge picture (a decompression bomb): 400 MP, ~50 KB.

    Written chunk by chunk, so making it never holds the decoded picture in memory.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def animated_png() -> bytes:
    """An animated PNG (APNG) of three frames."""
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def html_polyglot() -> bytes:
    """A JPEG that is also a web page (script after the image and in a comment)."""
    return jpeg(64, 64) + b"<html><body><script>alert(document.cookie)</script></body></html>"


def zip_polyglot() -> bytes:
    """A JPEG with a ZIP archive appended."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evil.txt", "payload")
    return jpeg(64, 64) + buffer.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)

# name, bytes, HTTP status, ImageRefused code, words the message must hold (English).
HOSTILE: list[tuple[str, bytes, int, str, tuple[str, ...]]] = [
    ("empty", b"", 422, "empty", ("empty",)),
    ("text", b"hello, this is not an image at all\n" * 10, 422, "unknown_type", ("JPEG",)),
    ("svg", SVG, 422, "svg", ("SVG",)),
    ("bomb", bomb_png(), 422, "too_many_pixels", ("400", "50", "smaller size")),
    ("animated", animated_png(), 422, "animated", ("single still photo",)),
    ("html-polyglot", html_polyglot(), 422, "polyglot", ("save it again",)),
    ("zip-polyglot", zip_polyglot(), 422, "polyglot", ("save it again",)),
    ("truncated", jpeg(400, 300)[:900], 422, "broken", ("damaged",)),
]


def media_files(app: Flask) -> set[str]:
    """Every file under the app's MEDIA_DIR, as paths relative to it."""
    root = Path(app.config["MEDIA_DIR"])
    return {
        str(Path(folder, name).relative_to(root))
        for folder, _dirs, names in os.walk(root)
        for name in names
    }


def upload(
    client: FlaskClient,
    token: str,
    data: bytes,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
) -> Any:
    """POST /api/photos with one file, as the new-trace form's script does."""
    body, content = multipart({"file": (io.BytesIO(data), filename, content_type)})
    return client.post(
        "/api/photos",
        data=body,
        headers={"X-CSRFToken": token, "Accept": "application/json"},
        content_type=content,
    )


def multipart(fields: dict[str, Any]) -> tuple[bytes, str]:
    """A multipart/form-data body in memory, and its Content-Type.

    The test client spools bodies over 500 KB to a temporary file it never closes (a
    ResourceWarning, an error here); built in memory, large uploads need no such file.
    """
    values = {
        name: FileStorage(value[0], value[1], content_type=value[2] if len(value) > 2 else None)
        if isinstance(value, tuple)
        else value
        for name, value in fields.items()
    }
    boundary, body = encode_multipart(values)
    return body, f"multipart/form-data; boundary={boundary}"


def english(client: FlaskClient) -> None:
    """Switch this client's language to English (messages are asserted in English)."""
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"  # what the language switch stores


def make_photo(
    app: Flask,
    session: Session,
    trace: Trace | None,
    uploader: User,
    status: PhotoStatus = PhotoStatus.APPROVED,
    public_when_protected: bool = False,
    position: int = 0,
) -> tuple[Photo, dict[str, bytes]]:
    """A photo with real files in the app's storage (a re-encoded WebP per size)."""
    storage = storage_for(app)
    key = new_storage_key()
    files: dict[str, bytes] = {}
    for size, px in (("thumb", 80), ("display", 200)):
        buffer = io.BytesIO()
        _image(px, px * 3 // 4).save(buffer, "WEBP", quality=70)
        files[size] = buffer.getvalue()
        storage.put(f"{key}/{size}.webp", files[size], "image/webp")
    decided = status in (PhotoStatus.APPROVED, PhotoStatus.REJECTED)
    photo = Photo(
        trace_id=trace.id if trace is not None and status != PhotoStatus.STAGED else None,
        uploader_id=uploader.id,
        status=status,
        storage_key=key,
        image_format="webp",
        source_format="jpeg",
        width=200,
        height=150,
        thumb_width=80,
        thumb_height=60,
        stored_bytes=sum(len(v) for v in files.values()),
        caption="A test photo",
        credit="Test Photographer",
        licence="CC-BY-4.0",
        position=position,
        public_when_protected=public_when_protected,
        decided_at=datetime.now(UTC) if decided else None,
    )
    session.add(photo)
    session.commit()
    return photo, files


def assert_clean_image(data: bytes, fmt: str | None = None) -> Image.Image:
    """The bytes are one image with no metadata (EXIF, XMP, ICC, comments) and nothing after it."""
    img = Image.open(io.BytesIO(data))
    img.load()
    if fmt is not None:
        assert img.format == fmt, img.format
    assert not img.getexif(), dict(img.getexif())
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "photoshop"):
        assert not img.info.get(key), (key, img.info.get(key))
    for marker in (b"Exif", b"GPS", b"TestCam", b"secret-software-marker", b"<x:xmpmeta"):
        assert marker not in data, marker
    if img.format == "WEBP":
        # RIFF size covers the whole file: nothing is appended after the image.
        assert data[:4] == b"RIFF" and struct.unpack("<I", data[4:8])[0] + 8 == len(data)
        assert b"EXIF" not in data and b"XMP " not in data and b"ICCP" not in data
    elif img.format == "JPEG":
        assert data.endswith(b"\xff\xd9") and data.count(b"\xff\xd9") >= 1
        assert b"\xff\xe1" not in data[:4096]  # no APP1 (EXIF/XMP) segment
    return img
