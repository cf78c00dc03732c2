"""`flask places import FILE`: load place names into the gazetteer."""

from __future__ import annotations

import click
from flask.cli import AppGroup

places_group = AppGroup("places", help="The gazetteer of place names used by the map's search.")


@places_group.command("count")
def count_places() -> None:
    """Print how many places the gazetteer holds."""
    from sqlalchemy import func, select

    from app.db import db
    from app.models import Place

    click.echo(db.session.execute(select(func.count()).select_from(Place)).scalar_one())
