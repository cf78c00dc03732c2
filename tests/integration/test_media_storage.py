"""Media storage: the same behaviour from a directory and from a real S3 server (SeaweedFS).

The S3 runs start ``weed`` once per session (tests/media_server.py); nothing is mocked.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.media.storage import (
    LocalStorage,
    MediaStorage,
    S3Storage,
    build_storage,
    check_key,
    storage_for,
)
from tests.media_server import seaweed_s3


@pytest.fixture(scope="session")
def s3_media() -> Iterator[dict[str, str]]:
    """MEDIA_S3_* settings of a real SeaweedFS S3 server with a fresh bucket, for the session."""
    with tempfile.TemporaryDirectory(prefix="heritage-weed-") as tmp, seaweed_s3(tmp) as config:
        yield config


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStorage:
    """Each behaviour test runs against a directory and against the S3 server."""
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    config = request.getfixturevalue("s3_media")
    store = build_storage(config, str(tmp_path))
    assert isinstance(store, S3Storage)
    return store


def new_key() -> str:
    """A storage key as the photos code makes them: a random URL-safe token."""
    return secrets.token_urlsafe(24)


def test_put_read_exists_overwrite(storage: MediaStorage) -> None:
    """A stored file reads back byte for byte; a second put replaces it."""
    key = new_key()
    payload = os.urandom(70_000) + b"\x00\xff"
    assert not storage.exists(f"{key}/display.webp")
    storage.put(f"{key}/display.webp", payload, "image/webp")
    assert storage.exists(f"{key}/display.webp")
    assert storage.read(f"{key}/display.webp") == payload
    storage.put(f"{key}/display.webp", b"second", "image/webp")
    assert storage.read(f"{key}/display.webp") == b"second"
    assert not storage.exists(f"{key}/thumb.webp")


def test_read_missing_is_file_not_found(storage: MediaStorage) -> None:
    """Reading a key that holds nothing raises FileNotFoundError, as the contract says."""
    with pytest.raises(FileNotFoundError):
        storage.read(f"{new_key()}/thumb.webp")


def test_delete_prefix_removes_every_file_and_only_those(storage: MediaStorage) -> None:
    """All files of one storage key go; a key that merely starts the same stays; repeat is fine."""
    key = new_key()
    neighbour = key + "x"  # shares the text prefix, must survive
    for name in ("thumb.webp", "display.webp", "original.jpg"):
        storage.put(f"{key}/{name}", b"data-" + name.encode(), "image/webp")
    storage.put(f"{neighbour}/thumb.webp", b"keep", "image/webp")
    storage.delete_prefix(key)
    for name in ("thumb.webp", "display.webp", "original.jpg"):
        assert not storage.exists(f"{key}/{name}")
        with pytest.raises(FileNotFoundError):
            storage.read(f"{key}/{name}")
    assert storage.read(f"{neighbour}/thumb.webp") == b"keep"
    storage.delete_prefix(key)  # idempotent
    storage.delete_prefix(new_key())  # never existed
    assert key not in set(storage.list_prefixes(-3600))


def test_s3_delete_prefix_beyond_one_listing_page(s3_media: dict[str, str], tmp_path: Path) -> None:
    """More files than fit in one S3 listing/delete batch (1000) are all removed."""
    storage = build_storage(s3_media, str(tmp_path))
    key = new_key()
    for n in range(1005):
        storage.put(f"{key}/f{n}.bin", b"x", "application/octet-stream")
    storage.delete_prefix(key)
    assert not storage.exists(f"{key}/f0.bin")
    assert not storage.exists(f"{key}/f1004.bin")


def test_list_prefixes_by_age(storage: MediaStorage) -> None:
    """Fresh keys are listed only when the cut-off lies in the future; old ones always."""
    key = new_key()
    storage.put(f"{key}/thumb.webp", b"t", "image/webp")
    assert key in set(storage.list_prefixes(-3600))  # everything is older than an hour ahead
    assert key not in set(storage.list_prefixes(3600))  # nothing here is an hour old
    storage.delete_prefix(key)


def test_list_prefixes_uses_the_newest_file(tmp_path: Path) -> None:
    """A storage key with one recent file is not old, even if its other files are."""
    store = LocalStorage(tmp_path)
    old, mixed = new_key(), new_key()
    store.put(f"{old}/thumb.webp", b"o", "image/webp")
    store.put(f"{mixed}/thumb.webp", b"o", "image/webp")
    store.put(f"{mixed}/display.webp", b"n", "image/webp")
    long_ago = time.time() - 7200
    for path in [tmp_path / old, tmp_path / old / "thumb.webp", tmp_path / mixed / "thumb.webp"]:
        os.utime(path, (long_ago, long_ago))
    os.utime(tmp_path / mixed, (long_ago, long_ago))
    # A stray non-key folder and a temp file are not storage keys.
    (tmp_path / "not.a.key").mkdir()
    assert set(store.list_prefixes(3600)) == {old}


BAD_KEYS = [
    "",
    "../etc/passwd",
    "abc/../../etc/passwd",
    "/abs/thumb.webp",
    "abc/../thumb.webp",
    "..",
    "abc/..",
    "abc/.hidden",
    "abc\\thumb.webp",
    "abc/thumb.webp/",
    "abc//thumb.webp",
    "abc/def/thumb.webp",
    "abc",
    "abc/thumb webp",
    "abc/thumb.webp\x00",
    "a" * 65 + "/thumb.webp",
    "ab c/thumb.webp",
    "abc/thümb.webp",
    "abc/thumb.webp\n",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_odd_keys_are_refused_before_any_io(storage: MediaStorage, key: str) -> None:
    """Traversal, absolute, hidden, nested or odd keys never reach the disk or the bucket."""
    with pytest.raises(ValueError):
        storage.put(key, b"x", "image/webp")
    with pytest.raises(ValueError):
        storage.read(key)
    with pytest.raises(ValueError):
        storage.exists(key)
    with pytest.raises(ValueError):
        storage.signed_url(key, 60, "x.webp", "image/webp")


@pytest.mark.parametrize("prefix", ["", "..", "a/b", "a/", "/a", ".", "a.b", "a" * 65, "a b"])
def test_odd_prefixes_are_refused(storage: MediaStorage, prefix: str) -> None:
    """delete_prefix takes one storage key, never a path (an empty one would delete all)."""
    with pytest.raises(ValueError):
        storage.delete_prefix(prefix)


def test_local_put_is_atomic_and_stays_inside_root(tmp_path: Path) -> None:
    """No temp file is left behind, the file lands under root, and good keys are accepted."""
    store = LocalStorage(tmp_path / "m")
    key = new_key()
    store.put(f"{key}/original.jpg", b"abc", "image/jpeg")
    assert [p.name for p in (tmp_path / "m" / key).iterdir()] == ["original.jpg"]
    assert check_key(f"{key}/thumb.webp") == (key, "thumb.webp")
    assert store.signed_url(f"{key}/original.jpg", 60, "a.jpg", "image/jpeg") is None


def test_local_put_failure_leaves_no_temp_file(tmp_path: Path) -> None:
    """A write that fails (data that is not bytes) leaves neither the file nor a temp file."""
    store = LocalStorage(tmp_path)
    key = new_key()
    with pytest.raises(TypeError):
        store.put(f"{key}/thumb.webp", "not bytes", "image/webp")  # type: ignore[arg-type]
    assert list((tmp_path / key).iterdir()) == []


def _fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET a URL with urllib: status, headers and body (error statuses included)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local server
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_s3_presigned_url_works_then_expires(s3_media: dict[str, str], tmp_path: Path) -> None:
    """A signed URL serves the bytes with our type and disposition, and stops after expiry."""
    store = build_storage(s3_media, str(tmp_path))
    key = new_key()
    payload = os.urandom(5000)
    store.put(f"{key}/display.webp", payload, "image/webp")
    url = store.signed_url(f"{key}/display.webp", 2, 'evil"; x=.html', "image/webp")
    assert url is not None and url.startswith(s3_media["MEDIA_S3_ENDPOINT"] + "/")
    assert "X-Amz-Signature=" in url
    status, headers, body = _fetch(url)
    assert status == 200
    assert body == payload
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["content-type"] == "image/webp"
    assert lowered["content-disposition"] == 'inline; filename="evil___x_.html"'
    # A tampered signature is refused.
    assert _fetch(url[:-4] + ("0000" if not url.endswith("0000") else "1111"))[0] == 403
    time.sleep(3.2)
    status, _, body = _fetch(url)
    assert status == 403
    assert payload not in body


def test_s3_bucket_is_not_public(s3_media: dict[str, str], tmp_path: Path) -> None:
    """Without a signature the object is not served (no guessable public path)."""
    store = build_storage(s3_media, str(tmp_path))
    key = new_key()
    store.put(f"{key}/thumb.webp", b"secret-ish", "image/webp")
    url = f"{s3_media['MEDIA_S3_ENDPOINT']}/{s3_media['MEDIA_S3_BUCKET']}/{key}/thumb.webp"
    status, _, body = _fetch(url)
    assert status in (401, 403)
    assert b"secret-ish" not in body


def test_storage_for_builds_once_per_app(tmp_path: Path, s3_media: dict[str, str]) -> None:
    """The app's storage follows its config (directory by default, S3 with a bucket), cached."""
    local_app = Flask("local", instance_path=str(tmp_path / "instance"))
    local_app.config.update(MEDIA_DIR="", MEDIA_S3_BUCKET="")
    first = storage_for(local_app)
    assert isinstance(first, LocalStorage)
    assert first.root == (tmp_path / "instance" / "media").resolve()
    assert storage_for(local_app) is first
    assert local_app.extensions["media_storage"] is first

    dir_app = Flask("dir", instance_path=str(tmp_path / "instance2"))
    dir_app.config.update(MEDIA_DIR=str(tmp_path / "elsewhere"), MEDIA_S3_BUCKET="")
    chosen = storage_for(dir_app)
    assert isinstance(chosen, LocalStorage) and chosen.root == (tmp_path / "elsewhere").resolve()

    s3_app = Flask("s3", instance_path=str(tmp_path / "instance3"))
    s3_app.config.update(MEDIA_DIR="", **s3_media)
    remote = storage_for(s3_app)
    assert isinstance(remote, S3Storage)
    key = new_key()
    remote.put(f"{key}/thumb.webp", b"t", "image/webp")
    assert remote.read(f"{key}/thumb.webp") == b"t"
    remote.delete_prefix(key)
