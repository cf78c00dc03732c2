"""`flask places import FILE`: load place names into the gazetteer."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import func, select

from app.db import db
from app.models import Place
from app.places.importer import FileRefused, import_file

places_group = AppGroup("places", help="The gazetteer of place names used by the map's search.")


@places_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--source",
    default="ssr",
    show_default=True,
    help="Where the names come from; a second import of the same source updates its places.",
)
@click.option(
    "--crs",
    default=None,
    help="The coordinate system when the file does not say (e.g. EPSG:25833 for SSR's UTM 33).",
)
def import_places(path: str, source: str, crs: str | None) -> None:
    """Load a GeoJSON, CSV or GML extract of Kartverket's place names (SSR) in one transaction."""
    source = source.strip()[:40]
    if not source:
        raise click.UsageError("--source must not be empty.")
    try:
        with force_locale("en"):  # the command line speaks English, like the other commands
            report = import_file(path, source=source, crs=crs)
    except FileRefused as error:
        db.session.rollback()
        click.echo(f"Refused: {error} Nothing was stored.", err=True)
        raise SystemExit(1) from None
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    for line in report.lines():
        click.echo(line)


@places_group.command("count")
def count_places() -> None:
    """Print how many places the gazetteer holds."""
    click.echo(db.session.execute(select(func.count()).select_from(Place)).scalar_one())
