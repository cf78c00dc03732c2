"""What the search tests share: asking /api/search, and places put in the gazetteer."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy.orm import Session

from app.models import Place

ALTA = (23.27, 69.97)
RAUFOSS = (10.61, 60.726)


def search(client: FlaskClient, q: str, **params: Any) -> dict[str, Any]:
    """The JSON answer for q (asserting a 200)."""
    response = client.get("/api/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


def titles(body: dict[str, Any]) -> list[str]:
    """The titles of the traces found, in order."""
    return [t["title"] for t in body["traces"]]


def add_place(session: Session, name: str, lon: float, lat: float, **fields: Any) -> Place:
    """A committed place of the test source (its id made of name and position unless given)."""
    place = Place(
        name=name, geom=from_shape(Point(lon, lat), srid=4326), source="test",
        source_id=fields.pop("source_id", f"{name}-{lon}-{lat}"), **fields,
    )  # fmt: skip
    session.add(place)
    session.commit()
    return place
