"""Everything the service holds about one person, as a ZIP streamed while it is built (GDPR 15, 20).

In two steps. collect() reads every row and storage key, with the parts already rendered as
JSON in the person's language (data_parts.py), while the request's transaction is open; the
route then ends the transaction. archive() streams the ZIP from what was collected and the
photo files: zipfile writes to an unseekable sink whose bytes are handed on after every step,
so no connection is held while the files go out, and never more than one photo file is in
memory. Parts and what they mean are listed in docs/own-data.md; the README.txt inside says the
same in the person's language.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from flask import current_app
from flask_babel import force_locale, get_locale, gettext

from app.me import data_parts as parts
from app.media.storage import MediaStorage, current_storage
from app.models import User

CHUNK = 64 * 1024


class _Sink(io.RawIOBase):
    """A write-only stream that keeps what zipfile wrote until it is taken (no seek, no tell)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        """Always: zipfile only writes to it."""
        return True

    def write(self, data: Any) -> int:
        """Keep the bytes until the next take(); all of them are taken."""
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        """What was written since the last take."""
        data = b"".join(self._parts)
        self._parts.clear()
        return data


@dataclass(frozen=True)
class Collected:
    """Everything the ZIP holds but the photo files' bytes: rendered parts and storage keys."""

    json_parts: list[tuple[str, bytes]]
    trace_features: list[bytes]
    files: list[tuple[str, str]]
    readme: str
    storage: MediaStorage


def filename(today: date) -> str:
    """The download's file name."""
    return f"kulturspor-mine-data-{today.isoformat()}.zip"


def collect(user: User) -> Collected:
    """Read and render everything about the person now, in their language (inside the request)."""
    language = user.language or str(get_locale() or "")
    with force_locale(language):
        json_parts = [(name, _json(build())) for name, build in _json_parts(user)]
        features = [_json(feature) for feature in parts.trace_features(user)]
        text = readme()
    return Collected(json_parts, features, parts.photo_files(user), text, current_storage())


def archive(collected: Collected) -> Iterator[bytes]:
    """The ZIP's bytes, in pieces, as each part is written; reads no database row."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in collected.json_parts:
            zf.writestr(name, data)
            yield sink.take()
        # The traces one feature at a time: a prolific author's history can be long.
        with zf.open("traces.geojson", "w") as entry:
            entry.write(b'{"type": "FeatureCollection", "features": [\n')
            for n, feature in enumerate(collected.trace_features):
                entry.write((b",\n" if n else b"") + feature)
                yield sink.take()
            entry.write(b"\n]}\n")
        yield sink.take()
        for name, key in collected.files:
            with zf.open(name, "w") as entry:
                data = collected.storage.read(key)  # one file at a time
                for start in range(0, len(data), CHUNK):
                    entry.write(data[start : start + CHUNK])
                    yield sink.take()
            yield sink.take()
        zf.writestr("README.txt", collected.readme)
    yield sink.take()


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def _json_parts(user: User) -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("account.json", lambda: parts.account(user)),
        ("comments.json", lambda: parts.comments(user)),
        ("notifications.json", lambda: parts.notifications(user)),
        ("consents.json", lambda: parts.consents(user)),
        ("audit.json", lambda: parts.audit_entries(user)),
        ("memberships.json", lambda: parts.memberships(user)),
        ("photos/photos.json", lambda: parts.photos(user)),
    ]


def readme() -> str:
    """What every part of the archive holds, in the reader's language."""
    lines = [
        gettext("Your data at %(site)s", site=current_app.config["INSTALLATION_NAME"]),
        "",
        gettext(
            "This archive holds everything the service stores about you. Files ending in "
            ".json and .geojson are plain text in the JSON format; times are in UTC."
        ),
        "",
    ]
    parts = [
        ("account.json", gettext(
            "Your account: e-mail address, name, role, chosen language, when it was created, "
            "your settings with what each means, and the devices you are logged in on."
        )),
        ("traces.geojson", gettext(
            "Every trace you wrote, in every state, with its precise place (GeoJSON, "
            "longitude and latitude in WGS84) and its history: when, by whom (“you”, or "
            "another person's public name or role), the comment typed and what changed."
        )),
        ("comments.json", gettext("Your comments and observations, in every state.")),
        ("notifications.json", gettext(
            "What the service told you, in your language, with its kind and parameters. "
            "Another person is named only if they show their name publicly, else by their role."
        )),
        ("consents.json", gettext(
            "Your choices about your name and e-mail. If you recorded traces for informants: "
            "which of them agreed to be named (their names are not included)."
        )),
        ("audit.json", gettext(
            "The log entries about you: what you did, and what was done to your account, "
            "your traces and your rights. Other people are named only by their role."
        )),
        ("memberships.json", gettext("Your roles in projects, ended ones too.")),
        ("photos/", gettext(
            "Your photos as stored (without location data), and photos.json with the "
            "caption, credit, licence and state of each."
        )),
    ]  # fmt: skip
    for name, text in parts:
        lines += [name, "  " + text, ""]
    lines.append(
        gettext("You can delete your account on your account page: %(url)s", url=_account_url())
    )
    return "\n".join(lines) + "\n"


def _account_url() -> str:
    from app.web import absolute_url

    return absolute_url("auth.account")
