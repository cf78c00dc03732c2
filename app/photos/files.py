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


def original_formats(photo: Photo) -> list[str]:
    """The formats a kept original may be stored in, most likely first.

    Originals are re-encoded too (no metadata survives): in the installation's format, or
    JPEG when the picture is larger than WebP can hold. The row does not say which, so the
    serving route looks for the first that exists.
    """
    return list(dict.fromkeys([photo.image_format, "jpeg"]))


def file_type(photo: Photo, size: str, fmt: str | None = None) -> tuple[str, str]:
    """The extension and Content-Type of one stored size of a photo (``fmt`` for originals)."""
    chosen = fmt or (original_formats(photo)[0] if size == "original" else photo.image_format)
    return FORMATS.get(chosen, FORMATS["jpeg"])


def file_key(photo: Photo, size: str, fmt: str | None = None) -> str:
    """The storage key of one size: '{storage_key}/{size}.{ext}'."""
    ext, _content_type = file_type(photo, size, fmt)
    return f"{photo.storage_key}/{size}.{ext}"


def key_for(storage_key: str, size: str, fmt: str) -> str:
    """The storage key of a size about to be stored, from its rendition's format."""
    ext, _content_type = FORMATS.get(fmt, FORMATS["jpeg"])
    return f"{storage_key}/{size}.{ext}"
