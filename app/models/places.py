"""The gazetteer: place names to search for and fly to (Kartverket's SSR or any extract)."""

from __future__ import annotations

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Place(Base):
    """A named place: a farm, a lake, a mountain, a village, with where it is."""

    __tablename__ = "places"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_places_source_id"),
        # Misspelt and partial names ("raufos" finds "Raufoss"): trigram word similarity.
        Index(
            "ix_places_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # What kind of place, as the source names it (SSR's navneobjekttype: "Gard", "Vann", ...).
    kind: Mapped[str] = mapped_column(String(80), default="", server_default="")
    municipality: Mapped[str] = mapped_column(String(100), default="", server_default="")
    county: Mapped[str] = mapped_column(String(100), default="", server_default="")
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=True), nullable=False
    )
    source: Mapped[str] = mapped_column(String(40), default="ssr", server_default="ssr")
    source_id: Mapped[str] = mapped_column(String(100))
