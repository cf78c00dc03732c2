"""`flask export`: the same GeoJSON or CSV as the web download, written to a file.

--precise gives sensitive sites their precise location. It needs no account because whoever
runs `flask` on the server can read the database anyway; every run is still written to the
export log (channel "cli", precise flag), so deliveries can be traced and erasures passed on.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click
import psycopg
from flask import current_app, has_app_context
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy import and_, exists, false, select, true
from sqlalchemy.exc import DBAPIError

from app.db import db
from app.export.forms import parse_bbox, parse_since
from app.export.stream import FORMATS, Export, Source
from app.models import Project, Scheme, Term
from app.publication.deliveries import record_delivery
from app.publication.features import ExportFilters


def _bbox(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_bbox(value)
    except (ValueError, OverflowError) as error:
        _refuse(ctx, param, error)


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_since(value)
    except (ValueError, OverflowError) as error:
        _refuse(ctx, param, error)


def _refuse(ctx: click.Context, param: click.Parameter | str, error: Exception | str) -> NoReturn:
    """One line on stderr and exit status 2, as for any other bad option."""
    name = param if isinstance(param, str) else (param.opts[0] if param.opts else param.name)
    click.echo(f"Error: Invalid value for '{name}': {_text(error)}", err=True)
    ctx.exit(2)
    raise AssertionError("unreachable")  # ctx.exit raises


def _text(error: Exception | str) -> str:
    """The message as plain text: a lazily translated one needs a request to pick a language."""
    message = error.args[0] if isinstance(error, Exception) and error.args else error
    app = current_app._get_current_object() if has_app_context() else None
    if app is None:
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    with app.test_request_context():
        return " ".join(str(message).split())


def _check_exists(condition: Any, option: str, message: str) -> None:
    if not db.session.execute(select(exists().where(condition))).scalar():
        _refuse(click.get_current_context(), option, message)


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="File format.")
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write; written as FILE.part and renamed when complete.",
)
@click.option("--project", metavar="SLUG", help="Only this project.")
@click.option("--bbox", metavar="W,S,E,N", callback=_bbox, help="Only traces shown in this box.")
@click.option("--type", "trace_type", metavar="CODE", help="Only this trace type.")
@click.option("--period", metavar="CODE", help="Only this period.")
@click.option("--term", metavar="CODE", help="A code in any vocabulary, or a tag.")
@click.option(
    "--updated-since",
    metavar="ISO",
    callback=_since,
    help="Only traces changed since this date or UTC time.",
)
@click.option(
    "--precise",
    is_flag=True,
    help=(
        "Give sensitive sites their precise location (e.g. for the county heritage office). "
        "Allowed because shell access to the server is access to the database; logged."
    ),
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 8),
    default=2,
    show_default=True,
    help="Database connections building the features at once (one core each).",
)
@with_appcontext
def export_command(
    fmt: str, output: Path, project: str | None, bbox: Any, trace_type: str | None,
    period: str | None, term: str | None, updated_since: datetime | None, precise: bool,
    jobs: int,
) -> None:  # fmt: skip
    """Export approved traces as GeoJSON or CSV, streamed from PostgreSQL."""
    if project:
        _check_exists(Project.slug == project, "--project", f"no project {project!r}.")
    if trace_type:
        _check_exists(_term_code(Scheme.TRACE_TYPE, trace_type), "--type",
                      f"no trace type {trace_type!r}.")  # fmt: skip
    if period:
        _check_exists(_term_code(Scheme.PERIOD, period), "--period", f"no period {period!r}.")
    db.session.rollback()
    filters = ExportFilters(project, bbox, trace_type, period, term, updated_since)
    source = Source(current_app.config["INSTALLATION_NAME"], current_app.config["BASE_URL"])
    export = Export(fmt, filters, true() if precise else false(), source, jobs=jobs)
    partial = output.with_name(output.name + ".part")
    try:
        handle = partial.open("wb")
    except OSError as error:
        click.echo(f"Cannot write {output}: {error.strerror}.", err=True)
        raise SystemExit(1) from None
    try:
        with handle:
            _write(export, handle)
        # Logged before the file appears: a delivery is never without its log entry.
        record_delivery(export, "cli")
        os.replace(partial, output)
    except OSError as error:
        _fail(partial, f"Cannot write {output}: {error.strerror}.")
    except (DBAPIError, psycopg.Error) as error:
        _fail(partial, f"The export failed in the database: {error}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        export.close()
    summary = export.summary
    assert summary is not None
    where = "precise" if summary.precise else summary.location
    click.echo(f"Wrote {export.streamed} traces to {output} ({fmt}; locations: {where}).")


def _term_code(scheme: Scheme, code: str) -> Any:
    return and_(Term.scheme == scheme, Term.code == code)


def _fail(partial: Path, message: str) -> None:
    partial.unlink(missing_ok=True)
    click.echo(message, err=True)
    raise SystemExit(1)


def _write(export: Export, handle: Any) -> None:
    summary = export.open()
    bar = click.progressbar(length=max(summary.count, 1), label="Exporting", file=sys.stderr,
                            show_pos=True)  # fmt: skip
    done = 0

    def advance(rows: int) -> None:
        nonlocal done
        step = min(rows, summary.count - done)  # CSV's header line is no trace
        if step > 0:
            done += step
            bar.update(step)

    with bar:
        for block in export.body(progress=advance):
            handle.write(block)
