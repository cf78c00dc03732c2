"""'Inside Norway' means Norway's outline (geo/norway.py), not a box that also holds Stockholm.

Places on both sides of the Swedish, Finnish and Russian borders, just off the coast and far out
at sea, on Svalbard and Jan Mayen; lines and polygons whose corners are Norwegian but which cross
a neighbour. Every neighbouring place below lies at least 3 km from the accepted area's edge,
so the test does not depend on the 2 km border tolerance or on simplification.
"""

from __future__ import annotations

import json

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import GeometryError
from geo.geometry import parse_geometry
from geo.norway import BOUNDARY_FILE, boundary, contains_position

NORWEGIAN = {
    "Oslo": (10.7337, 59.9119),
    "Halden (Swedish border)": (11.39, 59.12),
    "Røros": (11.39, 62.57),
    "Meråker (Swedish border)": (11.74, 63.42),
    "Bjørnfjell (Swedish border)": (18.08, 68.44),
    "Karasjok (Finnish border)": (25.51, 69.47),
    "Tana bru (Finnish border)": (28.17, 70.20),
    "Svanvik, Pasvik (Russian border)": (30.04, 69.45),
    "Kirkenes (Russian border)": (30.045, 69.727),
    "Vardø": (31.11, 70.37),
    "Lindesnes": (7.05, 57.98),
    "Utsira": (4.88, 59.31),
    "Røst": (12.10, 67.515),
    "Træna": (12.10, 66.50),
    "Longyearbyen, Svalbard": (15.63, 78.22),
    "Kvitøya, Svalbard": (32.5, 80.1),
    "Bjørnøya": (19.0, 74.43),
    "Hopen": (25.0, 76.5),
    "Olonkinbyen, Jan Mayen": (-8.72, 70.92),
}
JUST_OFF_THE_COAST = {
    "10 km west of Utsira": (4.70, 59.31),
    "10 km west of Karmøy": (5.05, 59.25),
    "15 km off Lista": (6.45, 57.98),
    "Hvaler skerries, Norwegian side of the median line": (10.95, 59.02),
    "Varangerfjorden": (30.5, 69.9),
    "10 km off Jan Mayen": (-9.2, 70.85),
}
ABROAD = {
    "Stockholm": (18.07, 59.33),
    "Strömstad (Sweden, 25 km from Halden)": (11.17, 58.94),
    "Kosterfjorden (Swedish waters)": (11.02, 58.90),
    "Abisko (Sweden, 30 km from Bjørnfjell)": (18.83, 68.35),
    "Åre (Sweden)": (13.08, 63.40),
    "Haparanda (Sweden)": (24.14, 65.83),
    "Tornio (Finland)": (24.15, 65.85),
    "Finland, south of Kilpisjärvi": (20.85, 69.0),
    "Finland, south-east of Karigasniemi": (25.95, 69.30),
    "Finland, south of Utsjoki": (27.0, 69.80),
    "Hetta (Finland)": (23.68, 68.38),
    "Nikel (Russia)": (30.22, 69.41),
    "Zapolyarny (Russia)": (30.82, 69.42),
    "Murmansk (Russia)": (33.08, 68.97),
    "Copenhagen": (12.57, 55.68),
    "North Sea, 100 km west of Utsira": (3.1, 59.31),
    "Norwegian Sea, 100 km off Lofoten": (10.2, 68.2),
    "100 km off Jan Mayen": (-11.5, 70.5),
}


def point(lon: float, lat: float) -> dict[str, object]:
    return {"type": "Point", "coordinates": [lon, lat]}


def refusal(obj: dict[str, object]) -> GeometryError:
    with pytest.raises(GeometryError) as info:
        parse_geometry(obj)
    return info.value


@pytest.mark.parametrize("place", [*NORWEGIAN, *JUST_OFF_THE_COAST])
def test_norwegian_places_and_coastal_waters_are_accepted(place: str) -> None:
    lon, lat = {**NORWEGIAN, **JUST_OFF_THE_COAST}[place]
    assert parse_geometry(point(lon, lat)).coords[0] == (lon, lat)


@pytest.mark.parametrize("place", ABROAD)
def test_places_across_the_border_and_far_out_at_sea_are_refused(place: str) -> None:
    lon, lat = ABROAD[place]
    error = refusal(point(lon, lat))
    assert error.code == "outside_norway"
    assert error.params == {"lon": lon, "lat": lat}


@pytest.mark.parametrize(
    ("name", "coordinates", "through"),
    [
        ("Oslo to Tromsø, straight through Sweden", [NORWEGIAN["Oslo"], (18.9553, 69.6492)], "SE"),
        ("Narvik to Kautokeino, through Sweden and Finland", [(17.43, 68.44), (23.04, 69.01)],
         "SE/FI"),
        ("Karasjok to Kirkenes, through Finland", [(25.51, 69.47), (30.045, 69.727)], "FI"),
    ],
)  # fmt: skip
def test_lines_between_norwegian_places_that_cross_a_neighbour_are_refused(
    name: str, coordinates: list[tuple[float, float]], through: str
) -> None:
    error = refusal({"type": "LineString", "coordinates": [list(c) for c in coordinates]})
    assert error.code == "outside_norway", name
    # The position named is on the stretch that leaves Norway.
    assert not contains_position(error.params["lon"], error.params["lat"]), through


def test_polygon_with_norwegian_corners_around_finnish_land_is_refused() -> None:
    ring = [(17.43, 68.44), (18.96, 69.65), (23.04, 69.01), (17.43, 68.44)]  # Narvik, Tromsø, ...
    assert all(contains_position(lon, lat) for lon, lat in ring)
    error = refusal({"type": "Polygon", "coordinates": [[list(c) for c in ring]]})
    assert error.code == "outside_norway"
    assert not contains_position(error.params["lon"], error.params["lat"])


def test_polygon_reaching_over_the_swedish_border_is_refused() -> None:
    # Halden, a corner in Strömstad, back along the coast.
    ring = [(11.39, 59.12), (11.17, 58.94), (10.95, 59.02), (11.39, 59.12)]
    assert refusal({"type": "Polygon", "coordinates": [[list(c) for c in ring]]}).code == (
        "outside_norway"
    )


def test_a_line_along_the_coast_stays_accepted() -> None:
    # Bergen to Fedje: over fjords and islands, never more than a few km from land.
    geom = parse_geometry({"type": "LineString", "coordinates": [[5.32, 60.39], [4.72, 60.78]]})
    assert geom.geom_type == "LineString"


@pytest.mark.parametrize("place", ["Stockholm", "Murmansk (Russia)", "Hetta (Finland)"])
def test_swapped_hint_still_works_next_to_the_real_outline(place: str) -> None:
    # A Norwegian place typed latitude first is called swapped; a foreign one is not.
    lon, lat = NORWEGIAN["Karasjok (Finnish border)"]
    assert refusal(point(lat, lon)).code == "swapped"
    lon, lat = ABROAD[place]
    assert refusal(point(lat, lon)).code == "outside_norway"


# Deep inside the neighbours (at least ~20 km from Norway): nothing there is Norway.
INLAND_BOXES = {
    "Sweden": (13.5, 57.5, 17.5, 63.0),
    "Finland": (23.5, 61.0, 28.5, 67.5),
    "Russia, Kola": (32.0, 66.5, 38.0, 68.8),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(INLAND_BOXES)), st.data())
def test_any_position_inside_a_neighbour_is_refused(country: str, data: st.DataObject) -> None:
    west, south, east, north = INLAND_BOXES[country]
    lon = data.draw(st.floats(min_value=west, max_value=east))
    lat = data.draw(st.floats(min_value=south, max_value=north))
    assert not contains_position(lon, lat)
    assert refusal(point(lon, lat)).code == "outside_norway"


def test_outline_is_loaded_once_prepared_and_small() -> None:
    assert boundary() is boundary()
    assert shapely.is_prepared(boundary())
    assert boundary().is_valid
    # Mainland, Svalbard and Jan Mayen; not Bouvet Island in the South Atlantic.
    west, south, east, north = boundary().bounds
    assert -10.0 < west and south > 57.0 and east < 35.0 and north < 81.5
    assert BOUNDARY_FILE.stat().st_size < 100_000
    properties = json.loads(BOUNDARY_FILE.read_text())["properties"]
    assert "Natural Earth" in properties["source"]
    assert "Public domain" in properties["licence"]
    assert "public domain" in (BOUNDARY_FILE.parent / "README.md").read_text()
