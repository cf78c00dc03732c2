"""The CSV export cannot be turned against a spreadsheet user, and reads back exactly.

Hypothesis writes arbitrary text into every text a CSV cell comes from (title, the type's and
period's codes and labels, tags, the source's attribution, the project, the page address),
commits it, streams the real CSV export (COPY on its own connection), and checks that no cell
starts with a formula sign, not even after whitespace, and that the importer gets back exactly
the text that went in.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator

import pytest
from flask import Flask
from geoalchemy2.shape import from_shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point
from sqlalchemy import delete, true

from app.db import db, engine_of
from app.export.cells import restore, split_tags
from app.export.stream import CSV_COLUMNS, Export, Source
from app.imports.candidates import build_vocabulary
from app.imports.parse import parse_upload
from app.models import Project, Scheme, Term, Trace, TraceStatus, UserRole
from app.publication.features import ExportFilters
from app.validation import FieldErrors, clean_line, strip_controls
from tests.integration.test_export import add_user, empty_tables, make_export_app

SIGNS = "=+-@＝＋－＠"
PREFIXES = ["=", "+", "-", "@", "\t", "\r", " =", "\u3000+", "'=", "''@", "'", "＝", "\ufeff-"]
# Text PostgreSQL can store: no NUL, no lone surrogates.
plain = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def risky(max_size: int) -> st.SearchStrategy[str]:
    """Any text, often starting the way a formula or an injection would."""
    text = st.text(plain, max_size=max_size - 3)
    return st.one_of(text, st.tuples(st.sampled_from(PREFIXES), text).map("".join))


TEXT_COLUMNS = [c for c in CSV_COLUMNS if c not in ("id", "lon", "lat", "wkt")]
_serial = itertools.count()


def dangerous(cell: str) -> bool:
    """What a spreadsheet may run: a formula sign first, also after whitespace; a tab or CR."""
    return cell[:1] in ("\t", "\r", "\n") or cell.lstrip()[:1] in tuple(SIGNS)


@pytest.fixture(scope="module")
def cells_app(database_url: str) -> Iterator[Flask]:
    """An app whose committed data (and terms) are removed afterwards."""
    app = make_export_app(database_url)
    with app.app_context():
        empty_tables()
        app.config["TEST_AUTHOR_ID"] = add_user("author@example.org", UserRole.ADMIN).id
        db.session.commit()
    yield app
    with app.app_context():
        empty_tables()
        db.session.execute(delete(Term).where(Term.code.like("%#h3-%")))
        db.session.commit()
        db.session.remove()
    engine_of(app).dispose()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=risky(200).filter(lambda t: t.strip(" ")),
    type_code=risky(50),
    type_label=risky(120),
    period_code=risky(50),
    period_label=risky(120),
    tags=st.lists(risky(64).filter(bool), max_size=4, unique=True),
    attribution=risky(300).filter(bool),
    slug=risky(50),
    base_url=risky(60),
)
def test_every_text_cell_is_safe_and_reads_back_exactly(
    cells_app: Flask,
    title: str,
    type_code: str,
    type_label: str,
    period_code: str,
    period_label: str,
    tags: list[str],
    attribution: str,
    slug: str,
    base_url: str,
) -> None:
    n = next(_serial)
    # Codes and slugs are unique: a suffix keeps every example's own beginning.
    type_code, period_code, slug = f"{type_code}#h3-{n}", f"{period_code}#h3-{n}", f"{slug}#{n}"
    with cells_app.app_context():
        project = Project(slug=slug, name="P", library_name="L")
        kind = Term(scheme=Scheme.TRACE_TYPE, code=type_code, label_nb=type_label, label_en="x")
        period = Term(scheme=Scheme.PERIOD, code=period_code, label_nb=period_label,
                      label_en="y")  # fmt: skip
        db.session.add_all([project, kind, period])
        db.session.flush()
        author_id = cells_app.config["TEST_AUTHOR_ID"]
        trace = Trace(
            project_id=project.id, author_id=author_id, title=title, tags=tags,
            geom=from_shape(Point(23.27, 69.97), srid=4326), trace_type_id=kind.id,
            period_id=period.id, source_attribution=attribution, licence="CC-BY-4.0",
            status=TraceStatus.APPROVED, approved_by_id=author_id,
            approved_at="2026-10-01T12:00:00Z",
        )  # fmt: skip
        db.session.add(trace)
        db.session.commit()
        trace_id, kind_id, period_id = trace.id, kind.id, period.id
        export = Export("csv", ExportFilters(project_slug=slug), true(), Source("K", base_url))
        export.open()
        body = b"".join(export.body())
        db.session.remove()

    header, row = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert tuple(header) == CSV_COLUMNS
    cells = dict(zip(header, row, strict=True))
    for column in TEXT_COLUMNS:
        assert not dangerous(cells[column]), (column, cells[column])
    expected = {
        "title": title, "type_code": type_code, "type_label": type_label,
        "period_code": period_code, "period_label": period_label, "attribution": attribution,
        "project": slug, "uri": f"{base_url.rstrip('/')}/traces/{trace_id}",
    }  # fmt: skip
    for column, text in expected.items():
        assert restore(cells[column]) == text, column
    assert split_tags(restore(cells["tags"])) == tags

    # The importer reads the same file back: the codes find their terms, the text is the
    # text (titles and attributions cleaned by app.validation, as every form and import is).
    vocabulary = build_vocabulary(
        [
            ("trace_type", kind_id, type_code, [type_label]),
            ("period", period_id, period_code, [period_label]),
        ]
    )
    (candidate,) = parse_upload(body, "export.csv", vocabulary, "CC-BY-4.0").candidates
    fields = candidate.fields
    assert fields["title"] == clean_line(title, field="t", errors=FieldErrors(), max_len=200)
    assert (fields["trace_type"], fields["period"]) == (type_code, period_code)
    tidied = " ".join(strip_controls(attribution, multiline=True).split())
    assert fields["attribution"] == (tidied or None)
