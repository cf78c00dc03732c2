"""What an installation accepts: the image limits, the per-person quotas, and the refusals.

Every refusal says which limit was met and what to do (docs/security.md items 23-27); the
API answers with its code, the forms with its message.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select

from app.db import db
from app.errors import DomainError
from app.media.imaging import ImageLimits
from app.models import Photo, User

log = logging.getLogger(__name__)

MEGABYTE = 1024 * 1024


class PhotoRefused(DomainError):
    """An upload that was not stored: a refused file (its ImageRefused code) or a quota."""

    status = 422
    code = "photo_refused"

    def __init__(self, code: str, message: str, status: int = 422, **extra: Any) -> None:
        super().__init__(message, **extra)
        self.code = code
        self.status = status


def image_limits() -> ImageLimits:
    """What this installation accepts and produces (HERITAGE_PHOTO_* settings)."""
    cfg = current_app.config
    return ImageLimits(
        max_bytes=int(cfg["PHOTO_MAX_MB"]) * MEGABYTE,
        max_pixels=int(cfg["PHOTO_MAX_MEGAPIXELS"]) * 1_000_000,
        thumb_px=int(cfg["PHOTO_THUMB_PX"]),
        display_px=int(cfg["PHOTO_DISPLAY_PX"]),
        fmt=str(cfg["PHOTO_FORMAT"]),
        keep_original=bool(cfg["KEEP_ORIGINALS"]),
    )


def refusal_message(code: str, params: dict[str, Any]) -> str:
    """The translated message of one ImageRefused code: which limit, and what to do."""
    limits = image_limits()
    limit_mb = params.get("limit_mb") or limits.max_bytes // MEGABYTE
    limit_mp = params.get("limit_megapixels") or limits.max_pixels // 1_000_000
    if code == "empty":
        return gettext("The file is empty. Choose the photo again and send it once more.")
    if code == "too_large":
        return gettext(
            "The photo is larger than %(limit)s MB, the most a photo may weigh. Save it at a "
            "smaller size or lower quality and try again.",
            limit=limit_mb,
        )
    if code == "too_many_pixels":
        megapixels = params.get("megapixels")
        if megapixels is None:
            return gettext(
                "The photo has more than %(limit)s megapixels, the most a photo may have. "
                "Save it at a smaller size and try again.",
                limit=limit_mp,
            )
        return gettext(
            "The photo is %(megapixels)s megapixels; the limit is %(limit)s. Save it at a "
            "smaller size and try again.",
            megapixels=_round_megapixels(megapixels),
            limit=limit_mp,
        )
    if code == "svg":
        return gettext(
            "SVG drawings are not accepted, only photos. Send a JPEG, PNG, WebP or HEIC file."
        )
    if code == "animated":
        return gettext(
            "Animated images are not accepted. Send a single still photo (JPEG, PNG, WebP or HEIC)."
        )
    if code == "polyglot":
        return gettext(
            "The file is an image with something else hidden in it (%(kind)s), so it is not "
            "accepted. Open the photo in an image program, save it again as JPEG and send "
            "that.",
            kind=_polyglot_kind(str(params.get("kind", ""))),
        )
    if code == "broken":
        return gettext(
            "The photo could not be read: the file seems damaged or cut off. Open it on your "
            "device to check it, save it again and try once more."
        )
    # unknown_type, and any code added later without a message of its own.
    return gettext(
        "This is not a photo we can take: send a JPEG, PNG, WebP or HEIC (iPhone) file. The "
        "file's type is read from its content, not its name."
    )


def _round_megapixels(value: Any) -> str:
    try:
        return f"{float(value):.0f}" if float(value) >= 10 else f"{float(value):.1f}"
    except (TypeError, ValueError):
        return str(value)


def _polyglot_kind(kind: str) -> str:
    kinds = {
        "html": gettext("a web page"),
        "zip": gettext("an archive"),
        "svg": gettext("an SVG drawing"),
        "trailing": gettext("data after the end of the picture"),
    }
    return kinds.get(kind, gettext("other data"))


def refusal_status(code: str) -> int:
    """413 for a file over the size limit, 422 for every other refusal."""
    return 413 if code == "too_large" else 422


def refuse_too_large() -> PhotoRefused:
    """The refusal of a body over the size limit (before or while it was read)."""
    return PhotoRefused("too_large", refusal_message("too_large", {}), status=413)


def check_quota(uploader: User, adding: int) -> None:
    """Refuse an upload past the uploader's daily count or stored megabytes."""
    cfg = current_app.config
    daily = int(cfg["PHOTO_DAILY_QUOTA"])
    quota_mb = int(cfg["PHOTO_USER_QUOTA_MB"])
    count, stored = db.session.execute(
        select(
            func.count(Photo.id).filter(Photo.created_at > func.now() - timedelta(hours=24)),
            func.coalesce(func.sum(Photo.stored_bytes), 0),
        ).where(Photo.uploader_id == uploader.id)
    ).one()
    if count >= daily:
        raise PhotoRefused(
            "daily_quota",
            gettext(
                "You have sent %(count)s photos in the last 24 hours, the most one person may "
                "send in a day. Try again tomorrow, or ask a librarian if you need more.",
                count=daily,
            ),
            status=429,
            limit=daily,
        )
    if int(stored) + adding > quota_mb * MEGABYTE:
        raise PhotoRefused(
            "storage_quota",
            gettext(
                "Your photos take up %(used)s MB, and each person may store at most "
                "%(limit)s MB. Remove photos you no longer need, or ask a librarian.",
                used=round(int(stored) / MEGABYTE),
                limit=quota_mb,
            ),
            status=422,
            limit_mb=quota_mb,
        )
