"""One candidate known site: its cleaned fields, or the reasons it cannot be imported.

clean_feature runs on every feature of an uploaded file, and again on the same held file when
the librarian confirms (holding.py), so the import never trusts what came back from the browser.
Pure: the vocabulary comes in as a Vocabulary built by queries.load_vocabulary (or by hand).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext
from shapely.geometry.base import BaseGeometry

from app.errors import ValidationFailed
from app.export.cells import split_values
from app.traces.edit_operations import normalise_tags
from app.traces.messages import geometry_message
from app.traces.validation import DESCRIPTION_MAX, LICENCES, SOURCES_MAX, TITLE_MAX
from app.validation import FieldErrors, clean_line, has_visible_text, strip_controls
from geo.errors import GeometryError
from geo.geometry import DEFAULT_MAX_VERTICES, parse_geometry

TERM_FIELDS = ("trace_type", "period", "condition", "dating_method")
# Canonical field -> the names accepted in a CSV header or GeoJSON properties (any case).
# The exporter's own names are among them (app/export/stream.py CSV_COLUMNS and the GeoJSON
# properties of app/publication/features.py), so our own files come back whole.
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
    # Provenance: kept as the source gave it, never replaced by ours.
    "attribution": ("attribution", "source_attribution"),
    "source_uri": ("source_uri",),
    "uri": ("uri",),
    "source_id": ("source_id",),
    "id": ("id",),
    "recorded_at": ("recorded_at",),
    # Protection: our marker for a generalised position, and the protected flag.
    "location": ("location",),
    "sensitive": ("sensitive",),
    # Photo links, kept as references (never fetched): GeoJSON's list, or the CSV's columns.
    "photos": ("photos",),
    "photo_urls": ("photo_urls",),
    "photo_thumbnails": ("photo_thumbnails",),
    "photo_captions": ("photo_captions",),
    "photo_credits": ("photo_credits",),
    "photo_licences": ("photo_licences",),
}
# The CSV export writes each term as <prefix>_code (and <prefix>_label): read as one term.
TERM_COLUMNS = {
    "trace_type": "type",
    "period": "period",
    "condition": "condition",
    "dating_method": "dating_method",
}
# Photo references from a file: at most as many as a trace may have photos, each bounded
# like our own photos' fields (app/models/photos.py).
PHOTO_REFERENCES_MAX = 10
PHOTO_URL_MAX = 500
PHOTO_CAPTION_MAX = 300
PHOTO_CREDIT_MAX = 200
PHOTO_LICENCE_MAX = 32
# The CSV export's photo columns, and the member of a GeoJSON photo each one holds.
PHOTO_COLUMNS = {
    "photo_urls": "href",
    "photo_thumbnails": "thumbnail",
    "photo_captions": "caption",
    "photo_credits": "credit",
    "photo_licences": "licence",
}
ATTRIBUTION_MAX = 300
SOURCE_URI_MAX = 500
SOURCE_ID_MAX = 200
URI_SCHEMES = ("http://", "https://", "urn:")
_TRUE = {"true", "t", "yes", "y", "1", "ja", "j"}
_FALSE = {"false", "f", "no", "n", "0", "nei", ""}


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
        codes[name][norm(code)] = code
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
    notes: list[str] = field(default_factory=list)  # what the import does differently, and why

    @property
    def protected(self) -> bool:
        """Imported as protected (sensitivity_override), whatever the vocabulary's rules say."""
        return bool(self.fields.get("sensitive")) or self.fields.get("location") == GENERALISED

    @property
    def importable(self) -> bool:
        """No errors: it may be imported (duplicates only when the librarian says so)."""
        return not self.errors and self.shape is not None


GENERALISED = "generalised"


def canonical(values: Mapping[str, Any], unused: set[str] | None = None) -> dict[str, Any]:
    """Pick each field by its first accepted name, in any case; names not read go to unused."""
    lowered: dict[str, Any] = {}
    original: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(key, str):
            name = key.strip().lower()
            if name not in lowered:
                lowered[name] = value
                original[name] = key
    read: set[str] = set()
    out: dict[str, Any] = {}
    for name, aliases in ALIASES.items():
        prefix = TERM_COLUMNS.get(name)
        pair = [f"{prefix}_code", f"{prefix}_label"] if prefix else []
        if any(column in lowered for column in pair):
            # The exporter's own columns win: a code, with its label to fall back on.
            out[name] = {"code": lowered.get(pair[0]), "label": lowered.get(pair[1])}
            read.update(column for column in pair if column in lowered)
            continue
        alias = next((alias for alias in aliases if alias in lowered), None)
        if alias is not None:
            out[name] = lowered[alias]
            read.add(alias)
    if unused is not None:
        unused.update(original[name] for name in lowered if name not in read)
    return out


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
    typed = _typed(raw.get("title"), gettext("Title"), errors)
    checked = FieldErrors()  # the one cleaner (app.validation), its problems said our way
    title = clean_line(typed, field="title", errors=checked, max_len=TITLE_MAX)
    if not typed.strip():
        errors.append(gettext("The title is missing."))
    elif not has_visible_text(title):
        errors.append(gettext("The title has no letters or digits that can be seen."))
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
    fields |= _provenance(raw, errors)
    fields |= _protection(raw, errors)
    fields["photo_references"] = photo_references(raw, errors)
    shape = None
    if "geometry" in raw:
        try:
            # Only the Shapely shape is kept (the file's own JSON is let go): memory per
            # candidate follows its vertices, stored compactly.
            shape = parse_geometry(raw["geometry"], max_vertices)
        except GeometryError as error:
            errors.append(geometry_message(error))
    elif not errors:
        errors.append(gettext("The feature has no geometry."))
    candidate = Candidate(number, title[:TITLE_MAX], fields, errors, None if errors else shape)
    if fields["location"] == GENERALISED:
        candidate.notes.append(generalised_note())
    elif fields["sensitive"]:
        candidate.notes.append(
            gettext("The source marks this site as protected: it is imported as protected.")
        )
    return candidate


def generalised_note() -> str:
    """The note on the report and on the trace for a position the source generalised."""
    return gettext(
        "The source gives a generalised position (location: generalised), not the exact one: "
        "the site is imported as protected, and its stored position is only approximate."
    )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _provenance(raw: Mapping[str, Any], errors: list[str]) -> dict[str, Any]:
    """The source's own attribution, address, id and date; our export's uri and id count too.

    A file's own source_uri/source_id win over its uri/id: an export of records we imported
    names where they first came from, and a second round trip keeps pointing there.
    """
    attribution = " ".join(_text(raw.get("attribution"), gettext("Attribution"), errors).split())
    if len(attribution) > ATTRIBUTION_MAX:
        errors.append(gettext("The attribution is longer than %(limit)s characters.",
                              limit=ATTRIBUTION_MAX))  # fmt: skip
    uri_value = raw.get("uri") if _blank(raw.get("source_uri")) else raw.get("source_uri")
    uri = _text(uri_value, gettext("Source URI"), errors)
    if uri and (not uri.lower().startswith(URI_SCHEMES) or len(uri) > SOURCE_URI_MAX
                or any(ch.isspace() for ch in uri)):  # fmt: skip
        errors.append(gettext("The source URI must be an http(s) or urn: address of at most "
                              "%(limit)s characters.", limit=SOURCE_URI_MAX))  # fmt: skip
    id_value = raw.get("id") if _blank(raw.get("source_id")) else raw.get("source_id")
    source_id = _text(id_value, gettext("Source id"), errors)
    if len(source_id) > SOURCE_ID_MAX:
        errors.append(gettext("The source id is longer than %(limit)s characters.",
                              limit=SOURCE_ID_MAX))  # fmt: skip
    return {
        "attribution": attribution or None,
        "source_uri": uri or None,
        "source_id": source_id or None,
        "recorded_at": _recorded_at(raw.get("recorded_at"), errors),
    }


def photo_references(raw: Mapping[str, Any], errors: list[str]) -> list[dict[str, Any]] | None:
    """The file's photo links as references: http(s) addresses, bounded texts, at most 10.

    GeoJSON gives `photos` (our export's list of objects); CSV gives the photo_* columns,
    whose n-th values belong together (cells.join_values). Nothing is fetched: the trace
    keeps the addresses, and exports and the trace page show them as links.
    """
    given = raw.get("photos")
    if _blank(given) and not _blank(raw.get("photo_urls")):
        given = _photos_from_columns(raw, errors)
    if given is None or given == [] or _blank(given):
        return None
    if not isinstance(given, list) or not all(isinstance(p, dict) for p in given):
        errors.append(gettext("photos must be a list of objects with href, caption and credit."))
        return None
    if len(given) > PHOTO_REFERENCES_MAX:
        errors.append(gettext("The feature has %(count)s photos; at most %(limit)s can be kept.",
                              count=len(given), limit=PHOTO_REFERENCES_MAX))  # fmt: skip
        return None
    references = []
    for number, photo in enumerate(given, 1):
        href = _photo_url(photo.get("href"), number, errors, required=True)
        thumbnail = _photo_url(photo.get("thumbnail"), number, errors, required=False)
        reference: dict[str, Any] = {"href": href, "thumbnail": thumbnail}
        for name, label, limit in (
            ("caption", gettext("caption"), PHOTO_CAPTION_MAX),
            ("credit", gettext("credit"), PHOTO_CREDIT_MAX),
            ("licence", gettext("licence"), PHOTO_LICENCE_MAX),
        ):
            text = " ".join(_text(photo.get(name), label, errors).split())
            if len(text) > limit:
                errors.append(gettext(
                    "Photo %(number)s: the %(field)s is longer than %(limit)s characters.",
                    number=number, field=label, limit=limit,
                ))  # fmt: skip
            reference[name] = text
        references.append(reference)
    return references


def _photos_from_columns(raw: Mapping[str, Any], errors: list[str]) -> list[dict[str, Any]]:
    """Photo objects from the CSV's photo_* columns, the n-th value of each belonging together."""
    columns = {
        member: split_values(raw[column]) if isinstance(raw.get(column), str) else []
        for column, member in PHOTO_COLUMNS.items()
    }
    count = len(columns["href"])
    if any(len(values) > count for values in columns.values()):
        errors.append(gettext("The photo columns hold more values than photo_urls has addresses."))
    return [
        {member: values[i] if i < len(values) else "" for member, values in columns.items()}
        for i in range(count)
    ]


def _photo_url(value: Any, number: int, errors: list[str], required: bool) -> str | None:
    """An absolute http(s) address without spaces, or None when optional and missing."""
    if _blank(value):
        if required:
            errors.append(gettext("Photo %(number)s has no address (href).", number=number))
        return None
    text = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(text) if text else None
    except ValueError:  # such as an unclosed [ in the host
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.netloc
        or len(text) > PHOTO_URL_MAX
        or any(ch.isspace() or not ch.isprintable() for ch in text)
    ):
        errors.append(gettext(
            "Photo %(number)s: the address must be an http(s) address of at most %(limit)s "
            "characters.", number=number, limit=PHOTO_URL_MAX,
        ))  # fmt: skip
        return None
    return text


def _recorded_at(value: Any, errors: list[str]) -> str | None:
    """An ISO 8601 date or time (UTC when no offset is given), not in the future."""
    if _blank(value):
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        errors.append(gettext("recorded_at is not a date (use ISO 8601, such as 2024-05-31)."))
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > datetime.now(UTC) + timedelta(days=1):
        errors.append(gettext("recorded_at lies in the future."))
        return None
    return when.isoformat()


def _protection(raw: Mapping[str, Any], errors: list[str]) -> dict[str, Any]:
    """Whether the source protects the site, and whether its position is generalised.

    Decision: a feature marked `location: generalised` (our export's marker) is imported, as
    protected (sensitivity_override), with a note on the report and in the trace's history,
    rather than refused. Refusing would make a public export unimportable and drop its
    protected sites; importing it as protected means the position is never published as
    exact, and a public export of the import shows the same generalised point again (the
    centre of the cell it lies in is that cell's centre). A file can protect a site, never
    unprotect one: "sensitive: false" leaves the decision to our vocabulary's rules.
    """
    location = raw.get("location")
    generalised = isinstance(location, str) and location.strip().lower().startswith(
        ("generalis", "generaliz")
    )
    value = raw.get("sensitive")
    sensitive = False
    if isinstance(value, bool):
        sensitive = value
    elif isinstance(value, int | str) and str(value).strip().lower() in _TRUE | _FALSE:
        sensitive = str(value).strip().lower() in _TRUE
    elif value is not None:
        errors.append(gettext("sensitive must be true or false."))
    return {"location": GENERALISED if generalised else None, "sensitive": sensitive}


def _typed(value: Any, label: str, errors: list[str]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.append(gettext("%(field)s must be text.", field=label))
        return ""
    return str(value)


def _text(value: Any, label: str, errors: list[str]) -> str:
    """Text as every form cleans it: no NUL, control or bidi characters, NFC, lines kept."""
    return strip_controls(_typed(value, label, errors), multiline=True).strip()


def _sources(value: Any, errors: list[str]) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "\n".join(v.strip() for v in value if v.strip())
    sources = _text(value, gettext("Sources"), errors)
    if len(sources) > SOURCES_MAX:
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
