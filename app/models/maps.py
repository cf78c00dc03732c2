"""Precomputed public map aggregates, kept current by a database trigger on traces."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, Integer, SmallInteger, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

# Zoom levels 0..MAX_CELL_ZOOM have cells, on the grid of geo.cells (4 cells to a tile side).
MAX_CELL_ZOOM = 11


class MapCell(Base):
    """How many approved traces fall in one 64-px cell at one zoom level, and their centre.

    Written only by the trigger ``traces_map_cells`` (migration 'map cells, places, search'),
    which adds and subtracts each statement's changes, so the counts stay exact without ever
    scanning the table. Protected sites are counted at their public point. The sums give the
    centre (sum_x / n) and, when n is 1, the one trace's id (sum_id).
    """

    __tablename__ = "map_cells"

    zoom: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cx: Mapped[int] = mapped_column(Integer, primary_key=True)
    cy: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    sum_x: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    sum_y: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    sum_id: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
