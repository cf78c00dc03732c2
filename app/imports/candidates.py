"""One candidate known site: its cleaned fields, or the reasons it cannot be imported.

clean_feature runs on every feature of an uploaded file, and again on the signed candidates
when the librarian confirms, so the import never trusts what came back from the browser.
Pure: the vocabulary comes in as a Vocabulary built by queries.load_vocabulary (or by hand).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from app.errors import ValidationFailed
from app.revisions.operations import normalise_tags
from app.traces.messages import geometry_message
from app.traces.validation import DESCRIPTION_MAX, LICENCES, SOURCES_MAX, TITLE_MAX
from geo.errors import GeometryError
from geo.geometry import DEFAULT_MAX_VERTICES, parse_geometry

TERM_FIELDS = ("trace_type", "period", "condition", "dating_method")
# Room kept in `sources` for the "Imported from <file> on <date>" line added on import.
SOURCES_ROOM = 300
# Canonical field -> the names accepted in a CSV header or GeoJSON properties (any case).
ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "name", "navn", "tittel"),
    "description": ("description", "beskrivelse"),
    "trace_type": ("type", "trace_type"),
    "period": ("period", "periode"),
    "condition": ("condition", "tilstand"),
    "dating_method": ("dating_method", "datering"),
    "sources": ("sources", "source", "kilder", "kilde"),
    "tags": ("tags", "stikkord"),
    "licence": ("licence", "license", "lisens"),
}


@dataclass(frozen=True)
class Vocabulary:
    """Active terms: per field, every lower-cased code and label -> code; (field, code) -> id."""

    lookup: dict[str, dict[str, str]]
    ids: dict[tuple[str, str], int]


def build_vocabulary(terms: Iterable[tuple[str, int, str, Iterable[str | None]]]) -> Vocabulary:
    """A Vocabulary from (field, id, code, labels) rows; codes win over equal labels."""
    labels: dict[str, dict[str, str]] = {name: {} for name in TERM_FIELDS}
    codes: dict[str, dict[str, str]] = {name: {} for name in TERM_FIELDS}
    ids: dict[tuple[str, str], int] = {}
    for name, term_id, code, term_labels in terms:
        ids[(name, code)] = term_id
        codes[name][code.lower()] = code
        for label in term_labels:
            if label:
                labels[name].setdefault(norm(label), code)
    return Vocabulary({name: labels[name] | codes[name] for name in TERM_FIELDS}, ids)


@dataclass
class Duplicate:
    """An existing trace (trace_id) or an earlier feature of the file (number) close by."""

    title: str
    metres: int
    trace_id: int | None = None
    number: int | None = None


@dataclass
class Candidate:
    """One feature of the file: its cleaned fields, or the reasons it cannot be imported."""

    number: int  # the feature's position (GeoJSON) or line (CSV), 1-based, as people count
    title: str
    fields: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    shape: BaseGeometry | None = None
    duplicate: Duplicate | None = None

    @property
    def importable(self) -> bool:
        """No errors: it may be imported (duplicates only when the librarian says so)."""
        return not self.errors and self.shape is not None


def canonical(values: Mapping[str, Any]) -> dict[str, Any]:
    """Pick each field by its first accepted name, in any case."""
    lowered: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(key, str):
            lowered.setdefault(key.strip().lower(), value)
    return {
        name: lowered[alias]
        for name, aliases in ALIASES.items()
        for alias in aliases[::-1]  # the first alias is read last and wins
        if alias in lowered
    }


def clean_feature(
    raw: Mapping[str, Any],
    number: int,
    vocabulary: Vocabulary,
    default_licence: str,
    max_vertices: int = DEFAULT_MAX_VERTICES,
    errors: list[str] | None = None,
) -> Candidate:
    """Check one feature's fields and geometry; the same step runs again on confirmation."""
    errors = list(errors or [])
    title = " ".join(_text(raw.get("title"), gettext("Title"), errors).split())
    if not title:
        errors.append(gettext("The title is missing."))
    elif len(title) > TITLE_MAX:
        errors.append(gettext("The title is longer than %(limit)s characters.", limit=TITLE_MAX))
    description = _text(raw.get("description"), gettext("Description"), errors)
    if len(description) > DESCRIPTION_MAX:
        errors.append(gettext("The description is too long."))
    sources = _sources(raw.get("sources"), errors)
    fields: dict[str, Any] = {
        "title": title,
        "description": description,
        "sources": sources,
        "licence": _licence(raw.get("licence"), default_licence, errors),
        "tags": _tags(raw.get("tags"), errors),
    }
    for name in TERM_FIELDS:
        fields[name] = _term(name, raw.get(name), vocabulary, errors)
    shape = None
    if "geometry" in raw:
        try:
            shape = parse_geometry(raw["geometry"], max_vertices)
        except GeometryError as error:
            errors.append(geometry_message(error))
        else:
            fields["geometry"] = mapping(shape)
    elif not errors:
        errors.append(gettext("The feature has no geometry."))
    return Candidate(number, title[:TITLE_MAX], fields, errors, None if errors else shape)


def _text(value: Any, label: str, errors: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.append(gettext("%(field)s must be text.", field=label))
        return ""
    return str(value).replace("\r\n", "\n").replace("\x00", "").strip()


def _sources(value: Any, errors: list[str]) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "\n".join(v.strip() for v in value if v.strip())
    sources = _text(value, gettext("Sources"), errors)
    if len(sources) > SOURCES_MAX - SOURCES_ROOM:
        errors.append(gettext("The sources are too long."))
    return sources


def _licence(value: Any, default: str, errors: list[str]) -> str:
    wanted = "-".join(_text(value, gettext("Licence"), errors).upper().split())
    if not wanted:
        return default
    for licence in LICENCES:
        if wanted in (licence.upper(), licence.upper().removesuffix("-1.0")):
            return licence
    errors.append(
        gettext(
            "Unknown licence %(licence)s; use one of: %(choices)s.",
            licence=wanted[:32],
            choices=", ".join(LICENCES),
        )
    )
    return default


def _tags(value: Any, errors: list[str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(";")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(gettext("The tags must be a list of words."))
        return []
    try:
        return normalise_tags(value)
    except ValidationFailed as error:
        errors.extend(error.errors["tags"])
        return []


def _term(name: str, value: Any, vocabulary: Vocabulary, errors: list[str]) -> str | None:
    """A code, a label in Bokmål/Nynorsk/English, or an export's {code, label, uri} object."""
    if value is None:
        return None
    if isinstance(value, dict):  # null in an export, or {code, label, label_en, uri}
        tries = [value.get(key) for key in ("code", "label", "label_en")]
    else:
        tries = [value if isinstance(value, str) else str(value)]
    tries = [t for t in tries if isinstance(t, str) and t.strip()]
    if not tries:
        return None
    for attempt in tries:
        code = vocabulary.lookup[name].get(norm(attempt))
        if code is not None:
            return code
    errors.append(
        gettext(
            "%(field)s: unknown value %(value)s.",
            field=_TERM_LABELS[name](),
            value=tries[0][:64],
        )
    )
    return None


_TERM_LABELS = {
    "trace_type": lambda: gettext("Type"),
    "period": lambda: gettext("Period"),
    "condition": lambda: gettext("Condition"),
    "dating_method": lambda: gettext("Dating method"),
}


def norm(value: str) -> str:
    """Lower case, trimmed, inner whitespace collapsed: how titles and labels compare."""
    return " ".join(value.split()).lower()
