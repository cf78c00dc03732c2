"""`flask places import`: SSR-like GeoJSON, CSV and GML (UTM 33), upserts, refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pyproj import Transformer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Place

KOMSA = (23.15, 69.96)
HOKKSUND = (9.911, 59.771)
RAUFOSS = (10.61, 60.726)


def run(app: Flask, *args: str) -> Any:
    """Run `flask places ...` in the test's transaction (its commit is a savepoint's)."""
    return app.test_cli_runner().invoke(args=["places", *args])


def places(
    session: Session, source: str = "ssr"
) -> dict[str, tuple[str, str, str, str, float, float]]:
    """The places of a source by source_id: (name, kind, municipality, county, lon, lat)."""
    rows = session.execute(
        select(
            Place.source_id, Place.name, Place.kind, Place.municipality, Place.county,
            func.ST_X(Place.geom), func.ST_Y(Place.geom),
        ).where(Place.source == source)
    )  # fmt: skip
    return {r[0]: (r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows}


def geojson(features: list[dict[str, Any]], **top: Any) -> str:
    """A FeatureCollection of the features as text, with extra top-level members."""
    return json.dumps({"type": "FeatureCollection", **top, "features": features})


def ssr_feature(number: int, name: str, lon: float, lat: float, **extra: Any) -> dict[str, Any]:
    """A feature as Kartverket's SSR GeoJSON download writes it."""
    return {
        "type": "Feature",
        "geometry": extra.pop("geometry", {"type": "Point", "coordinates": [lon, lat]}),
        "properties": {
            "stedsnummer": number,
            "stedsnavn": [{"skrivemåte": [{"komplettskrivemåte": name}], "språk": "nor"}],
            "navneobjekttype": extra.pop("kind", "Fjell"),
            "kommune": [{"kommunenummer": "5601", "kommunenavn": "Alta"}],
            "fylke": [{"fylkesnummer": "56", "fylkesnavn": "Finnmark"}],
            **extra,
        },
    }


def test_geojson_with_ssr_properties(app, session, tmp_path: Path):
    polygon = {"type": "Polygon", "coordinates": [[[23.0, 69.9], [23.1, 69.9], [23.1, 70.0],
                                                   [23.0, 70.0], [23.0, 69.9]]]}  # fmt: skip
    path = tmp_path / "stedsnavn.geojson"
    path.write_text(
        geojson(
            [
                ssr_feature(101, "Komsa", *KOMSA),
                ssr_feature(102, "Storvannet", 0, 0, geometry=polygon, kind="Innsjø"),
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(RAUFOSS)},
                 "properties": {"skrivemåte": "Raufoss", "navneobjekttype": "By",
                                "kommunenavn": "Vestre Toten", "fylkesnavn": "Innlandet",
                                "lokalId": "abc-1"}},
                ssr_feature(103, "", *KOMSA),
                ssr_feature(104, "Oslo-ish", 13.4, 52.5),
                {"type": "Feature", "geometry": None, "properties": {"navn": "Ingen"}},
            ]
        ),
        encoding="utf-8",
    )  # fmt: skip
    result = run(app, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "added 3, updated 0, unchanged 0, skipped 3" in result.output
    assert "no name" in result.output and "outside Norway" in result.output
    stored = places(session)
    assert stored["101"][:4] == ("Komsa", "Fjell", "Alta", "Finnmark")
    assert stored["101"][4:] == pytest.approx(KOMSA)
    assert stored["abc-1"][:4] == ("Raufoss", "By", "Vestre Toten", "Innlandet")
    lake = stored["102"]
    assert 23.0 < lake[4] < 23.1 and 69.9 < lake[5] < 70.0  # a point on its surface


def test_reimport_is_idempotent_and_updates_what_changed(app, session, tmp_path: Path):
    path = tmp_path / "a.geojson"
    features = [ssr_feature(n, f"Haugen {n}", 23 + n / 1000, 69.9) for n in range(1, 1201)]
    path.write_text(geojson(features), encoding="utf-8")
    assert "added 1200," in run(app, "import", str(path)).output
    again = run(app, "import", str(path))
    assert "added 0, updated 0, unchanged 1200, skipped 0" in again.output
    features[4] = ssr_feature(5, "Haugen fem", 23.005, 69.9)
    path.write_text(geojson(features), encoding="utf-8")
    assert "added 0, updated 1, unchanged 1199" in run(app, "import", str(path)).output
    assert places(session)["5"][0] == "Haugen fem"
    assert run(app, "count").output.strip() == "1200"


def test_csv_with_semicolons_and_decimal_commas(app, session, tmp_path: Path):
    path = tmp_path / "steder.csv"
    path.write_text(
        "navn;type;kommune;fylke;lat;lon;stedsnummer\n"
        "Hokksund;By;Øvre Eiker;Buskerud;59,771;9,911;7\n"
        "Vestfossen;Tettsted;Øvre Eiker;Buskerud;59.733;9.870;8\n"
        ";Tettsted;Øvre Eiker;Buskerud;59.7;9.8;9\n"
        "Ingen plass;;;;;;10\n",
        encoding="utf-8",
    )
    result = run(app, "import", str(path), "--source", "csvtest")
    assert result.exit_code == 0, result.output
    assert "added 2," in result.output and "skipped 2" in result.output
    stored = places(session, "csvtest")
    assert stored["7"][:3] == ("Hokksund", "By", "Øvre Eiker")
    assert stored["7"][4:] == pytest.approx(HOKKSUND)


def test_csv_with_commas_and_no_ids_matches_on_reimport(app, session, tmp_path: Path):
    path = tmp_path / "places.csv"
    path.write_text(
        "name,kind,municipality,county,lat,lon\nRaufoss,By,Vestre Toten,Innlandet,60.726,10.61\n",
        encoding="utf-8",
    )
    assert "added 1," in run(app, "import", str(path)).output
    assert "unchanged 1" in run(app, "import", str(path)).output
    assert len(places(session)) == 1


def _gml(rows: list[tuple[str, str, float, float]], srs: str) -> str:
    members = "".join(
        f"""
  <wfs:member>
    <app:Sted gml:id="sted.{number}">
      <app:identifikasjon><app:Identifikasjon><app:lokalId>{number}</app:lokalId>
        <app:navnerom>https://data.geonorge.no/sosi/stedsnavn</app:navnerom>
      </app:Identifikasjon></app:identifikasjon>
      <app:stedsnummer>{number}</app:stedsnummer>
      <app:navneobjekttype>fjell</app:navneobjekttype>
      <app:posisjon><gml:Point gml:id="p{number}" srsName="{srs}" srsDimension="2">
        <gml:pos>{x:.3f} {y:.3f}</gml:pos></gml:Point></app:posisjon>
      <app:stedsnavn><app:Stedsnavn>
        <app:skrivemåte><app:Skrivemåte><app:komplettskrivemåte>{name}</app:komplettskrivemåte>
        </app:Skrivemåte></app:skrivemåte>
      </app:Stedsnavn></app:stedsnavn>
      <app:kommune><app:Kommune><app:kommunenummer>5601</app:kommunenummer>
        <app:kommunenavn>Alta</app:kommunenavn></app:Kommune></app:kommune>
      <app:fylke><app:Fylke><app:fylkesnavn>Finnmark</app:fylkesnavn></app:Fylke></app:fylke>
    </app:Sted>
  </wfs:member>"""
        for number, name, x, y in rows
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0"
    xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:app="https://skjema.geonorge.no/SOSI/produktspesifikasjon/Stedsnavn/5.0">
  <wfs:boundedBy><gml:Envelope srsName="{srs}"><gml:lowerCorner>0 0</gml:lowerCorner>
    <gml:upperCorner>1 1</gml:upperCorner></gml:Envelope></wfs:boundedBy>{members}
</wfs:FeatureCollection>
"""


def test_gml_in_utm33_is_transformed(app, session, tmp_path: Path):
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25833", always_xy=True)
    rows = [("1", "Komsa", *to_utm.transform(*KOMSA)),
            ("2", "Hokksund", *to_utm.transform(*HOKKSUND))]  # fmt: skip
    path = tmp_path / "Stedsnavn.gml"
    path.write_text(_gml(rows, "http://www.opengis.net/def/crs/EPSG/0/25833"), encoding="utf-8")
    result = run(app, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "added 2," in result.output
    stored = places(session)
    assert stored["1"][:4] == ("Komsa", "fjell", "Alta", "Finnmark")
    assert stored["1"][4:] == pytest.approx(KOMSA, abs=1e-5)
    assert stored["2"][4:] == pytest.approx(HOKKSUND, abs=1e-5)


def test_gml_without_a_coordinate_system_needs_crs(app, session, tmp_path: Path):
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
    path = tmp_path / "utm32.gml"
    path.write_text(_gml([("3", "Raufoss", *to_utm.transform(*RAUFOSS))], ""), encoding="utf-8")
    result = run(app, "import", str(path))
    assert "added 0," in result.output and "--crs" in result.output
    result = run(app, "import", str(path), "--crs", "EPSG:25832")
    assert "added 1," in result.output
    assert places(session)["3"][4:] == pytest.approx(RAUFOSS, abs=1e-5)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.geojson", None, "not valid JSON"),
        ("list.geojson", "[1, 2]", "not a GeoJSON FeatureCollection"),
        ("broken.gml", "<wfs:FeatureCollection><a></b>", "not valid XML"),
        ("empty.csv", "", "empty"),
        ("columns.csv", "title;x\nKomsa;1\n", "needs the columns"),
        ("latin1.csv", "navn;lat;lon\nK\xe5fjord;69.9;23.0\n".encode("latin-1"), "UTF-8"),
        ("nan.geojson", '{"type": "FeatureCollection", "features": [NaN]}', "NaN"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_stored(
    app, session, tmp_path: Path, name: str, content: Any, message: str
) -> None:
    path = tmp_path / name
    if content is None:  # 1,500 good features (a batch is stored) and then broken JSON
        good = [ssr_feature(n, f"Haugen {n}", 23 + n / 10000, 69.9) for n in range(1, 1501)]
        content = geojson(good)[:-2] + ', {"type": "Feature", "properties": '
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = run(app, "import", str(path))
    assert result.exit_code == 1
    assert message in result.output
    assert "Nothing was stored" in result.output
    assert places(session) == {}


def test_a_missing_file_or_unknown_crs_is_a_clear_refusal(app, session, tmp_path: Path):
    result = run(app, "import", str(tmp_path / "nowhere.geojson"))
    assert result.exit_code == 1 and "cannot be opened" in result.output
    path = tmp_path / "a.geojson"
    path.write_text(geojson([ssr_feature(1, "Komsa", *KOMSA)]), encoding="utf-8")
    result = run(app, "import", str(path), "--crs", "nonsense")
    assert result.exit_code == 1 and "Unknown coordinate system" in result.output


def test_the_place_name_api_answer_can_be_imported(app, session, tmp_path: Path):
    """A saved answer of ws.geonorge.no/stedsnavn/v1/navn (representasjonspunkt, kommuner)."""
    path = tmp_path / "navn.json"
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25833", always_xy=True)
    east, north = to_utm.transform(*HOKKSUND)
    path.write_text(json.dumps({"metadata": {"side": 1}, "navn": [
        {"skrivemåte": "Hokksund", "navneobjekttype": "By", "stedsnummer": 55,
         "representasjonspunkt": {"øst": east, "nord": north, "koordsys": 25833},
         "kommuner": [{"kommunenavn": "Øvre Eiker"}], "fylker": [{"fylkesnavn": "Buskerud"}]},
    ]}), encoding="utf-8")  # fmt: skip
    result = run(app, "import", str(path))
    assert "added 1," in result.output, result.output
    assert places(session)["55"][:4] == ("Hokksund", "By", "Øvre Eiker", "Buskerud")
    assert places(session)["55"][4:] == pytest.approx(HOKKSUND, abs=1e-5)


def test_demo_places_load_through_the_importer_and_only_once(app, session):
    from app.db import db
    from app.demo import load_demo_places

    with app.app_context():
        first = load_demo_places()
        second = load_demo_places()
        db.session.commit()  # the test's savepoint; the test's transaction still rolls back
    assert first.added >= 60 and first.skipped_total == 0
    assert second.added == 0 and second.unchanged == first.added
    stored = places(session, "demo")
    names = {row[0] for row in stored.values()}
    assert {"Alta", "Ålgård", "Hokksund", "Raufoss"} <= names
    municipalities = {row[2] for row in stored.values()}
    assert municipalities == {"Alta", "Gjesdal", "Øvre Eiker", "Vestre Toten"}
