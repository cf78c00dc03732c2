"""Where photo files live: a directory (the default) or S3-compatible object storage.

Contract (owned by the storage work; app/photos relies on these names):

- ``MediaStorage`` protocol: ``put(key, data, content_type)``, ``read(key) -> bytes``,
  ``exists(key) -> bool``, ``delete_prefix(prefix) -> None`` (every file of one photo, idempotent),
  ``signed_url(key, seconds, filename, content_type) -> str | None`` (None: serve through the app),
  ``list_prefixes(older_than_seconds) -> Iterator[str]`` (the storage keys present, for the sweep
  of files whose photo row never committed).
- ``storage_for(app) -> MediaStorage``: built once per app from its config and kept in
  ``app.extensions["media_storage"]``; ``current_storage()`` for the current app.

Keys are ``{storage_key}/{file name}`` (e.g. ``Xy3...Q/display.webp``); a prefix given to
``delete_prefix`` is one storage key and means everything under ``{storage_key}/``. Any other
shape of key (``..``, absolute paths, backslashes, odd characters, deeper paths) is refused with
ValueError before it reaches the disk or the bucket.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app

# A storage key is one of our random tokens (URL-safe base64 / hex); a file name is a fixed
# word with a short extension. Nothing else may name a file: no dots in the key, no '..'.
_STORAGE_KEY = r"[A-Za-z0-9_-]{1,64}"
_FILE_NAME = r"[A-Za-z0-9_-]{1,32}(?:\.[A-Za-z0-9]{1,8})?"
KEY_RE = re.compile(rf"^({_STORAGE_KEY})/({_FILE_NAME})$")
PREFIX_RE = re.compile(rf"^{_STORAGE_KEY}$")
# Files being written are named with this start and skipped by listings and the sweep.
_TEMP_MARK = ".tmp-"


def check_key(key: str) -> tuple[str, str]:
    """The (storage key, file name) of a valid file key; ValueError for anything else."""
    match = KEY_RE.fullmatch(key) if isinstance(key, str) else None
    if match is None:
        raise ValueError(f"invalid media key: {key!r}")
    return match.group(1), match.group(2)


def check_prefix(prefix: str) -> str:
    """A valid storage key (the prefix of one photo's files); ValueError for anything else."""
    if not isinstance(prefix, str) or PREFIX_RE.fullmatch(prefix) is None:
        raise ValueError(f"invalid media prefix: {prefix!r}")
    return prefix


def _content_disposition(filename: str) -> str:
    """An inline Content-Disposition whose filename cannot break out of its quotes."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:100] or "photo"
    return f'inline; filename="{safe}"'


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


class LocalStorage:
    """Files in a directory: ``{root}/{storage_key}/{file name}``, served through the app."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        """Use (and create) the directory root."""
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        """The file path of a checked key (always inside root)."""
        storage_key, name = check_key(key)
        return self.root / storage_key / name

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write atomically: a temp file in the same folder, fsynced, then renamed over."""
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        temp = path.parent / f"{_TEMP_MARK}{path.name}.{secrets.token_hex(6)}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes:
        """The file's bytes (FileNotFoundError when missing)."""
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self._path(key).is_file()

    def delete_prefix(self, prefix: str) -> None:
        """Remove the storage key's folder and everything in it."""
        folder = self.root / check_prefix(prefix)
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():  # ignore_errors hid a real failure (permissions): say so
            raise OSError(f"could not remove media folder {folder}")

    def signed_url(self, key: str, seconds: int, filename: str, content_type: str) -> str | None:
        """No direct address: the app serves local files itself (after its access check)."""
        check_key(key)
        return None

    def list_prefixes(self, older_than_seconds: int) -> Iterator[str]:
        """Storage keys whose folder and files were all last changed before the cut-off."""
        cutoff = time.time() - older_than_seconds
        with os.scandir(self.root) as entries:
            for entry in entries:
                if not entry.is_dir(follow_symlinks=False) or not PREFIX_RE.fullmatch(entry.name):
                    continue
                try:
                    newest = entry.stat(follow_symlinks=False).st_mtime
                    with os.scandir(entry.path) as files:
                        for item in files:
                            newest = max(newest, item.stat(follow_symlinks=False).st_mtime)
                except FileNotFoundError:  # removed meanwhile
                    continue
                if newest < cutoff:
                    yield entry.name


class S3Storage:
    """Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, SeaweedFS)."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint: str = "",
        access_key: str = "",
        secret_key: str = "",
        region: str = "us-east-1",
    ) -> None:
        """A boto3 client with short timeouts and few retries (a request must not hang)."""
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        config = Config(
            signature_version="s3v4",
            connect_timeout=3,
            read_timeout=20,
            retries={"max_attempts": 3, "mode": "standard"},
            # Self-hosted servers (MinIO, Ceph, SeaweedFS) are reached by path, not by a
            # bucket subdomain that no DNS knows.
            s3={"addressing_style": "path" if endpoint else "auto"},
        )
        kwargs: dict[str, Any] = {"region_name": region or "us-east-1", "config": config}
        if endpoint:
            kwargs["endpoint_url"] = endpoint
        if access_key:
            kwargs["aws_access_key_id"] = access_key
            kwargs["aws_secret_access_key"] = secret_key
        self.client: Any = boto3.client("s3", **kwargs)

    @staticmethod
    def _missing(exc: Exception) -> bool:
        """Whether a botocore error says the object (or key) does not exist."""
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in {"NoSuchKey", "404", "NotFound"} or status == 404

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Upload one object (S3 PUTs are atomic: readers see the old or the new whole)."""
        check_key(key)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def read(self, key: str) -> bytes:
        """The object's bytes (FileNotFoundError when missing)."""
        from botocore.exceptions import ClientError

        check_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if self._missing(exc):
                raise FileNotFoundError(key) from exc
            raise
        body = response["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        """Whether the object exists (HEAD)."""
        from botocore.exceptions import ClientError

        check_key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if self._missing(exc):
                return False
            raise
        return True

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object under ``{prefix}/`` (listed, then deleted in batches)."""
        folder = check_prefix(prefix) + "/"
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=folder):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if not keys:
                continue
            result = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
            )
            errors = result.get("Errors") or []
            if errors:
                raise OSError(f"could not delete media objects: {errors[:3]}")

    def signed_url(self, key: str, seconds: int, filename: str, content_type: str) -> str | None:
        """A presigned GET that also fixes the response's type, disposition and caching."""
        check_key(key)
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": _content_disposition(filename),
                    "ResponseCacheControl": f"private, max-age={max(int(seconds), 0)}",
                },
                ExpiresIn=max(int(seconds), 1),
            )
        )

    def list_prefixes(self, older_than_seconds: int) -> Iterator[str]:
        """Storage keys whose objects were all last modified before the cut-off.

        One listing of the bucket: keys come sorted, so one storage key's objects are
        consecutive and each is decided as soon as the next storage key starts.
        """
        cutoff = time.time() - older_than_seconds
        paginator = self.client.get_paginator("list_objects_v2")
        current: str | None = None
        newest = 0.0
        for page in paginator.paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                storage_key, _, rest = item["Key"].partition("/")
                if not rest or not PREFIX_RE.fullmatch(storage_key):
                    continue  # not one of ours
                if storage_key != current:
                    if current is not None and newest < cutoff:
                        yield current
                    current, newest = storage_key, 0.0
                newest = max(newest, item["LastModified"].timestamp())
        if current is not None and newest < cutoff:
            yield current


def build_storage(config: dict[str, Any] | Any, instance_path: str) -> MediaStorage:
    """The storage a configuration asks for: S3 when a bucket is set, else a directory."""
    bucket = config.get("MEDIA_S3_BUCKET") or ""
    if bucket:
        return S3Storage(
            bucket,
            endpoint=config.get("MEDIA_S3_ENDPOINT") or "",
            access_key=config.get("MEDIA_S3_ACCESS_KEY") or "",
            secret_key=config.get("MEDIA_S3_SECRET_KEY") or "",
            region=config.get("MEDIA_S3_REGION") or "us-east-1",
        )
    root = config.get("MEDIA_DIR") or os.path.join(instance_path, "media")
    return LocalStorage(root)


def storage_for(app: Flask) -> MediaStorage:
    """The app's media storage, built from its configuration on first use."""
    storage = app.extensions.get("media_storage")
    if storage is None:
        storage = build_storage(app.config, app.instance_path)
        app.extensions["media_storage"] = storage
    return storage  # type: ignore[no-any-return]


def current_storage() -> MediaStorage:
    """The current app's media storage."""
    return storage_for(current_app._get_current_object())  # type: ignore[attr-defined]
