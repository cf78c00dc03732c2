"""Where photo files live: a directory (the default) or S3-compatible object storage.

Contract (owned by the storage work; app/photos relies on these names):

- ``MediaStorage`` protocol: ``put(key, data, content_type)``, ``read(key) -> bytes``,
  ``exists(key) -> bool``, ``delete_prefix(prefix) -> None`` (every file of one photo, idempotent),
  ``signed_url(key, seconds, filename, content_type) -> str | None`` (None: serve through the app),
  ``list_prefixes(older_than_seconds) -> Iterator[str]`` (the storage keys present, for the sweep
  of files whose photo row never committed).
- ``storage_for(app) -> MediaStorage``: built once per app from its config and kept in
  ``app.extensions["media_storage"]``; ``current_storage()`` for the current app.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from flask import Flask, current_app


class MediaStorage(Protocol):
    """The few operations photos need from a store of files."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store bytes under a key (overwrites)."""

    def read(self, key: str) -> bytes:
        """The bytes under a key (FileNotFoundError when there are none)."""

    def exists(self, key: str) -> bool:
        """Whether a key holds a file."""

    def delete_prefix(self, prefix: str) -> None:
        """Remove every file whose key starts with prefix; nothing there is not an error."""

    def signed_url(self, key: str, seconds: int, filename: str, content_type: str) -> str | None:
        """An expiring address a browser may fetch directly, or None to serve through the app."""

    def list_prefixes(self, older_than_seconds: int) -> Iterator[str]:
        """Storage keys (the first part of file keys) whose files are older than this."""


def storage_for(app: Flask) -> MediaStorage:
    """The app's media storage, built from its configuration on first use."""
    raise NotImplementedError


def current_storage() -> MediaStorage:
    """The current app's media storage."""
    return storage_for(current_app._get_current_object())  # type: ignore[attr-defined]
