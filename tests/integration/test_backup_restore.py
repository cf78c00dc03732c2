"""The restore drill: flask backup, then flask restore into a fresh database and media.

The exports and photos are the same bytes afterwards and people can log in.

pg_dump only sees committed rows, so this module cannot use the shared rolled-back test
transaction: it runs on a database of its own (`<test db>_drill`, migrated here) with a
`session` that really commits, and the usual fixtures (world, people, make_trace) on top.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import create_app
from app.db import db, engine_of
from app.export import stream
from app.export.cli import export_command
from app.media.storage import storage_for
from app.models import PhotoStatus, Trace, TraceStatus, User, UserRole
from app.ops.cli import backup_command, restore_command
from tests import dbutil
from tests.conftest import PASSWORD_HASH, ClosingClient, post_login
from tests.dbutil import drop_database, recreate_database
from tests.integration.photo_support import make_photo

SECRET = "drill-secret-key-kept-apart-from-backups"


def _sibling(suffix: str) -> str:
    url = make_url(dbutil.test_database_url())
    return url.set(database=f"{url.database}_{suffix}").render_as_string(hide_password=False)


def _app(url: str, media: str) -> Flask:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "BASE_URL": "http://localhost",
            "MEDIA_DIR": media,
        }
    )
    app.test_client_class = ClosingClient
    return app


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    """This module's app, on a freshly migrated database of its own (dropped at the end)."""
    url = _sibling("drill")
    recreate_database(url)
    app = _app(url, tempfile.mkdtemp(prefix="heritage-drill-media-"))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield app
    engine_of(app).dispose()
    drop_database(url)


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session whose commits are real (pg_dump must see the rows)."""
    db.session.remove()
    real = Session(bind=engine_of(app), expire_on_commit=False)
    yield real
    real.close()
    db.session.remove()


@pytest.fixture
def restore_url() -> Iterator[str]:
    """An empty database made from the PostGIS template, as an operator would create one."""
    url = _sibling("restore")
    recreate_database(url)
    yield url
    drop_database(url)


class _FixedClock(datetime):
    """The exports' clock, stopped at one moment.

    Each GeoJSON export carries `generated_at` (and the download name a date), the one part
    that must differ between two runs. With the clock fixed, the comparison below stays a
    comparison of every byte of the files.
    """

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        """Always 2026-11-30 12:00 UTC."""
        return datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _export(app: Flask, out: Path, *, precise: bool) -> bytes:
    args = ["--format", "geojson", "--output", str(out)] + (["--precise"] if precise else [])
    result = app.test_cli_runner().invoke(export_command, args)
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def _backup(app: Flask, where: Path) -> Path:
    result = app.test_cli_runner().invoke(backup_command, ["--to", str(where)])
    assert result.exit_code == 0, result.output
    (written,) = where.iterdir()
    assert f"Wrote {written}" in result.output
    return written


def _restore(app: Flask, backup: Path, url: str, media: Path, *extra: str) -> Any:
    return app.test_cli_runner().invoke(
        restore_command, [str(backup), "--database-url", url, "--media-dir", str(media), *extra]
    )


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_restore_drill(
    app: Flask,
    session: Session,
    world: dict[str, Any],
    people: dict[str, Any],
    make_trace: Callable[..., Trace],
    restore_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Back up, restore into a fresh database and media directory, compare everything."""
    monkeypatch.setattr(stream, "datetime", _FixedClock)
    sensitive = make_trace(project=people["project"], author=people["author"],
                           title="Offerstein", sensitivity_override=True)  # fmt: skip
    with_photo = make_trace(project=people["project"], author=people["author"], title="Naust")
    make_trace(project=people["project"], author=people["other"], status=TraceStatus.PENDING)
    photo, photo_bytes = make_photo(app, session, with_photo, people["author"])
    session.refresh(sensitive)
    assert sensitive.is_sensitive

    public = _export(app, tmp_path / "public.geojson", precise=False)
    precise = _export(app, tmp_path / "precise.geojson", precise=True)
    # The two exports differ exactly where they should: the sensitive site's location.
    assert public != precise
    assert len(json.loads(public)["features"]) == 3  # world's approved one and two in alta
    assert f"/photos/{photo.id}/display".encode() in public  # the export links the photo

    backup = _backup(app, tmp_path / "backups")
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["database"]["alembic_revision"]
    listed = {entry["path"] for entry in manifest["files"]}
    assert {
        "database.dump",
        "SECRET-KEY-NOTE.txt",
        f"media/{photo.storage_key}/display.webp",
    } <= listed
    assert SECRET not in (backup / "SECRET-KEY-NOTE.txt").read_text()

    media = tmp_path / "restored-media"
    result = _restore(app, backup, restore_url, media)
    assert result.exit_code == 0, result.output
    assert (
        "all match" in result.output and f"Copied {len(photo_bytes)} media files" in result.output
    )

    restored = _app(restore_url, str(media))
    try:
        assert _export(restored, tmp_path / "public-2.geojson", precise=False) == public
        assert _export(restored, tmp_path / "precise-2.geojson", precise=True) == precise
        assert _files(media) == _files(Path(app.config["MEDIA_DIR"]))
        storage = storage_for(restored)
        for size, data in photo_bytes.items():
            assert storage.read(f"{photo.storage_key}/{size}.webp") == data

        client = restored.test_client()
        served = client.get(f"/photos/{photo.id}/display")
        assert served.status_code == 200 and served.data == photo_bytes["display"]
        assert post_login(client, people["author"].email, "not the password").status_code != 302
        response = post_login(client, people["author"].email)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        assert "/login" not in response.headers["Location"]
    finally:
        db.session.remove()
        engine_of(restored).dispose()


@pytest.fixture
def shell_umask() -> Iterator[None]:
    """The umask of a login shell or cron (022: new files readable by everyone)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    """Every folder's and file's permission bits under root, root itself as "."."""
    paths = [root, *root.rglob("*")]
    return {p.relative_to(root).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in paths}


def test_backups_are_private_and_restored_media_is_not_world_readable(
    app: Flask,
    session: Session,
    restore_url: str,
    tmp_path: Path,
    shell_umask: None,
) -> None:
    """A backup holds password hashes and addresses: 0700 folders and 0600 files, whatever the
    umask; restored photos get the media storage's modes (0640 files, 0750 folders)."""
    # An uploader of its own: this module's rows are committed, so names must not repeat.
    email = f"modes-{uuid.uuid4().hex}@example.org"
    uploader = User(email=email, email_normalized=email, display_name="Modes",
                    password_hash=PASSWORD_HASH, role=UserRole.RESIDENT)  # fmt: skip
    session.add(uploader)
    session.commit()
    photo, _ = make_photo(app, session, None, uploader, status=PhotoStatus.STAGED)
    media_file = Path(app.config["MEDIA_DIR"], photo.storage_key, "display.webp")
    media_file.chmod(0o644)  # a photo readable by all: the backup's copy must not be

    backup = _backup(app, tmp_path / "backups")
    modes = _modes(backup)
    assert {"database.dump", "manifest.json", f"media/{photo.storage_key}/display.webp"} <= set(
        modes
    )
    for path, mode in modes.items():
        assert mode & 0o077 == 0, (path, oct(mode))
        assert mode in (0o700, 0o600), (path, oct(mode))

    media = tmp_path / "restored-media"
    result = _restore(app, backup, restore_url, media)
    assert result.exit_code == 0, result.output
    restored = _modes(media)
    assert f"{photo.storage_key}/display.webp" in restored
    for path, mode in restored.items():
        folder = (media / path).is_dir()
        assert mode == (0o750 if folder else 0o640), (path, oct(mode))


def test_restore_refuses_a_changed_or_missing_file(app: Flask, tmp_path: Path) -> None:
    """A byte changed in the dump, or a file gone: refused, naming the file, nothing done."""
    backup = _backup(app, tmp_path / "backups")
    nowhere = _sibling("restore_never_created")
    dump = backup / "database.dump"
    data = bytearray(dump.read_bytes())
    data[-1] ^= 0xFF
    dump.write_bytes(bytes(data))

    result = _restore(app, backup, nowhere, tmp_path / "media")
    assert result.exit_code == 1
    assert "database.dump does not match its checksum" in result.output
    assert not (tmp_path / "media").exists()

    (backup / "SECRET-KEY-NOTE.txt").unlink()
    result = _restore(app, backup, nowhere, tmp_path / "media")
    assert result.exit_code == 1
    assert "SECRET-KEY-NOTE.txt is missing from the backup" in result.output

    (backup / "manifest.json").unlink()
    result = _restore(app, backup, nowhere, tmp_path / "media")
    assert result.exit_code == 1 and "manifest.json is missing" in result.output


def test_restore_refuses_a_database_with_tables_unless_forced(
    app: Flask, restore_url: str, tmp_path: Path
) -> None:
    """A second restore into the same database is refused; with --force it replaces it."""
    backup = _backup(app, tmp_path / "backups")
    media = tmp_path / "media"
    assert _restore(app, backup, restore_url, media).exit_code == 0

    again = _restore(app, backup, restore_url, media)
    assert again.exit_code == 1
    assert "already has" in again.output and "--force" in again.output

    forced = _restore(app, backup, restore_url, media, "--force")
    assert forced.exit_code == 0, forced.output


def test_restore_refuses_a_missing_database(app: Flask, tmp_path: Path) -> None:
    """The target database must exist; the message says how to create it."""
    backup = _backup(app, tmp_path / "backups")
    result = _restore(app, backup, _sibling("restore_never_created"), tmp_path / "media")
    assert result.exit_code == 1
    assert "does not exist" in result.output and "createdb" in result.output


def test_backup_fails_clearly_when_pg_dump_fails(app: Flask, tmp_path: Path) -> None:
    """pg_dump cannot reach the database: non-zero exit, its message, no backup left behind."""
    broken = _app(_sibling("no_such_database"), str(tmp_path / "media"))
    result = broken.test_cli_runner().invoke(backup_command, ["--to", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert "Backup failed" in result.output and "pg_dump failed" in result.output
    assert list((tmp_path / "b").iterdir()) == []
    engine_of(broken).dispose()


def test_database_urls_become_libpq_connection_strings() -> None:
    """The app's URL forms reach pg_dump as libpq keywords; the password only in PGPASSWORD."""
    from psycopg.conninfo import conninfo_to_dict

    from app.ops.pg import target

    socket = target("postgresql+psycopg:///heritage?host=/var/run/postgresql")
    assert conninfo_to_dict(socket.conninfo) == {
        "host": "/var/run/postgresql",
        "dbname": "heritage",
    }
    assert socket.password is None

    remote = target("postgres://kim:s3cret%40x@db.example:5433/kulturspor?sslmode=require")
    assert conninfo_to_dict(remote.conninfo) == {
        "host": "db.example",
        "port": "5433",
        "user": "kim",
        "dbname": "kulturspor",
        "sslmode": "require",
    }
    assert "s3cret" not in remote.conninfo
    assert remote.env()["PGPASSWORD"] == "s3cret@x"
    assert remote.name == "kulturspor"
