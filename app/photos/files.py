"""Where a photo's files are stored, and what type each is (from what we stored, only)."""

from __future__ import annotations

from app.models import Photo

# A stored format: the file name extension and the Content-Type it is served with.
FORMATS: dict[str, tuple[str, str]] = {
    "webp": ("webp", "image/webp"),
    "jpeg": ("jpg", "image/jpeg"),
    "png": ("png", "image/png"),
    "heif": ("heic", "image/heic"),
}


def original_format(photo: Photo) -> str:
    """The stored original's format: the upload's own when we can store it, else JPEG.

    Kept originals are re-encoded too (no metadata survives), in the uploaded format where
    it is one of the stored formats.
    """
    return photo.source_format if photo.source_format in FORMATS else "jpeg"


def file_type(photo: Photo, size: str) -> tuple[str, str]:
    """The extension and Content-Type of one stored size of a photo."""
    fmt = original_format(photo) if size == "original" else photo.image_format
    return FORMATS.get(fmt, FORMATS["jpeg"])


def file_key(photo: Photo, size: str) -> str:
    """The storage key of one size: '{storage_key}/{size}.{ext}'."""
    ext, _content_type = file_type(photo, size)
    return f"{photo.storage_key}/{size}.{ext}"


def key_for(storage_key: str, size: str, fmt: str) -> str:
    """The storage key of a size about to be stored, from its rendition's format."""
    ext, _content_type = FORMATS.get(fmt, FORMATS["jpeg"])
    return f"{storage_key}/{size}.{ext}"
