"""Uploaded files held on disk between the dry run and the confirmation.

The dry run copies the upload (already spooled to a temporary file by Werkzeug) into the hold
directory under a random name, in blocks, and reads that copy; the signed report carries only
the name and the SHA-256 of the bytes. The confirmation takes the file out of the hold (claim),
reads the same bytes again and checks every feature as if new. So a report stays a few hundred
bytes whatever the file weighs, nothing the browser sends back is trusted, and a report can be
confirmed once. Files never confirmed are swept when older than a report may be confirmed.

The directory (IMPORT_HOLD_DIR, by default instance/imports) must be shared by every worker
that serves the app: on one machine it is.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

BLOCK = 1 << 20
_NAME = re.compile(r"[0-9a-f]{32}")


class HeldMissing(LookupError):
    """The held file is gone (confirmed already, swept, or never held here) or was changed."""


@dataclass(frozen=True)
class Held:
    """A held upload: its name in the hold directory and the SHA-256 of its bytes."""

    name: str
    digest: str


def hold(stream: IO[bytes], directory: Path) -> Held:
    """Copy the upload into the hold directory, block by block, and hash it on the way."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = secrets.token_hex(16)
    digest = hashlib.sha256()
    path = directory / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as target:
            for block in iter(lambda: stream.read(BLOCK), b""):
                digest.update(block)
                target.write(block)
    except OSError:
        path.unlink(missing_ok=True)  # a full disk leaves no half file behind
        raise
    return Held(name, digest.hexdigest())


def claim(directory: Path, held: Held) -> IO[bytes]:
    """The held file for reading, taken out of the hold at once (only one confirmation gets it).

    The rename is atomic: of two confirmations of one report, one gets the file and the other
    HeldMissing. The file is unlinked while open, so it is gone however the import ends.
    """
    if not _NAME.fullmatch(held.name):
        raise HeldMissing(held.name)
    taken = directory / f"{held.name}.{secrets.token_hex(4)}"
    try:
        os.rename(directory / held.name, taken)
        file = taken.open("rb")
    except OSError:
        raise HeldMissing(held.name) from None
    taken.unlink(missing_ok=True)
    digest = hashlib.sha256()
    for block in iter(lambda: file.read(BLOCK), b""):
        digest.update(block)
    if not secrets.compare_digest(digest.hexdigest(), held.digest):
        file.close()
        raise HeldMissing(held.name)
    file.seek(0)
    return file


def release(directory: Path, name: str) -> None:
    """Remove a held file that will not be confirmed (safe to call twice)."""
    if _NAME.fullmatch(name):
        (directory / name).unlink(missing_ok=True)


def sweep(directory: Path, max_age: int) -> None:
    """Remove held files older than max_age seconds: their reports can no longer be confirmed."""
    if not directory.is_dir():
        return
    oldest = time.time() - max_age
    try:
        paths = list(directory.iterdir())
    except OSError:
        return  # a directory that may be written but not listed: housekeeping never fails an upload
    for path in paths:
        try:
            if _NAME.fullmatch(path.name) and path.stat().st_mtime < oldest:
                path.unlink(missing_ok=True)
        except OSError:
            continue  # another worker swept it first
