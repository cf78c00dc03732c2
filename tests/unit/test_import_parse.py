"""app.imports.parse and candidates: uploaded GeoJSON/CSV -> candidates, without a database."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from pyproj import Transformer

from app.imports.candidates import Candidate, Vocabulary, build_vocabulary
from app.imports.holding import Held, HeldMissing, claim, hold, sweep
from app.imports.parse import MAX_FEATURES, FileRefused, ParsedFile, clean_filename, parse_upload
from app.imports.seal import SealBroken, Sealed, seal, unseal

ALTA = (23.2715, 69.9689)  # lon, lat
BOWTIE = [[[23.27, 69.96], [23.28, 69.97], [23.28, 69.96], [23.27, 69.97], [23.27, 69.96]]]
SQUARE = [[[23.27, 69.96], [23.28, 69.96], [23.28, 69.97], [23.27, 69.97], [23.27, 69.96]]]


@pytest.fixture
def vocabulary() -> Vocabulary:
    """A few terms as the seeded vocabulary has them (codes, Bokmål/Nynorsk/English labels)."""
    return build_vocabulary(
        [
            ("trace_type", 1, "fangstanlegg", ["Fangstanlegg / fangstgrop", None, "Hunting pit"]),
            ("trace_type", 2, "kullgrop", ["Kullgrop / kullmile", "Kolgrop", "Charcoal pit, kiln"]),
            ("period", 3, "jernalder", ["Jernalder", None, "Iron Age"]),
            ("condition", 4, "intakt", ["Intakt", None, "Intact"]),
            ("dating_method", 5, "c14", ["C14", None, "Radiocarbon (C14)"]),
        ]
    )


def parse(data: bytes | str, filename: str, vocabulary: Vocabulary, **kw: Any) -> ParsedFile:
    raw = data.encode() if isinstance(data, str) else data
    return parse_upload(raw, filename, vocabulary, "CC-BY-4.0", **kw)


def feature(geometry: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def collection(*features: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features), **extra}).encode()


def point(lon: float = ALTA[0], lat: float = ALTA[1]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def ok(candidate: Candidate) -> Candidate:
    assert candidate.errors == [], candidate.errors
    assert candidate.importable
    return candidate


def refused(data: bytes | str, filename: str, vocabulary: Vocabulary, **kw: Any) -> str:
    with pytest.raises(FileRefused) as caught:
        parse(data, filename, vocabulary, **kw)
    return str(caught.value)


# --- GeoJSON ------------------------------------------------------------------------------------


def test_geojson_happy_path(vocabulary: Vocabulary) -> None:
    data = collection(
        feature(
            point(),
            title="  Fangstgrop   ved Storvatnet ",
            description="To groper i **rekke**.",
            type="fangstanlegg",
            period="Iron Age",  # an English label, in any case
            condition="INTAKT",
            dating_method="c14",
            sources=["Askeladden 12345", "Fortalt av Per"],
            tags=["Fangst", "elg", "fangst"],
            licence="CC0-1.0",
        ),
        feature(
            {"type": "LineString", "coordinates": [[23.27, 69.96], [23.28, 69.97]]}, name="Vei"
        ),
        feature({"type": "Polygon", "coordinates": SQUARE}, navn="Tuft"),
    )
    parsed = parse(data, "sites.geojson", vocabulary)
    assert parsed.kind == "geojson"
    first, line, polygon = (ok(c) for c in parsed.candidates)
    assert [c.number for c in parsed.candidates] == [1, 2, 3]
    assert first.title == "Fangstgrop ved Storvatnet"
    assert first.fields["description"] == "To groper i **rekke**."
    assert first.fields["trace_type"] == "fangstanlegg"
    assert first.fields["period"] == "jernalder"
    assert first.fields["condition"] == "intakt"
    assert first.fields["dating_method"] == "c14"
    assert first.fields["sources"] == "Askeladden 12345\nFortalt av Per"
    assert first.fields["tags"] == ["fangst", "elg"]
    assert first.fields["licence"] == "CC0-1.0"
    assert first.shape is not None and first.shape.coords[0] == ALTA
    assert line.title == "Vei" and line.shape is not None and line.shape.geom_type == "LineString"
    assert line.fields["licence"] == "CC-BY-4.0"  # the project default
    assert polygon.title == "Tuft" and polygon.shape is not None
    assert polygon.shape.exterior.is_ccw  # RFC 7946 winding


def test_export_style_term_objects_are_read_by_code(vocabulary: Vocabulary) -> None:
    term = {"code": "kullgrop", "label": "Kullgrop / kullmile", "label_en": "x", "uri": None}
    data = collection(
        feature(
            point(),
            title="Mile",
            type=term,
            period={"code": "jernalder"},
            # Another installation's code, but a label we know.
            condition={"code": "their-code", "label": "Intakt", "uri": None},
            dating_method=None,
            tags=[],
        ),
        feature(point(), title="Blank", type="  ", period={"code": None, "label": None}),
    )
    first, blank = (ok(c) for c in parse(data, "export.geojson", vocabulary).candidates)
    assert first.fields["trace_type"] == "kullgrop"
    assert first.fields["period"] == "jernalder"
    assert first.fields["condition"] == "intakt"
    assert first.fields["dating_method"] is None
    assert blank.fields["trace_type"] is None and blank.fields["period"] is None


def test_a_single_feature_and_a_bom_are_accepted(vocabulary: Vocabulary) -> None:
    data = b"\xef\xbb\xbf" + json.dumps(feature(point(), title="Grop")).encode()
    assert ok(parse(data, "one.json", vocabulary).candidates[0]).title == "Grop"


@pytest.mark.parametrize(
    "name",
    ["urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326"],
)
def test_a_crs_naming_wgs84_is_tolerated(vocabulary: Vocabulary, name: str) -> None:
    crs = {"type": "name", "properties": {"name": name}}
    data = collection(feature(point(), title="Grop"), crs=crs)
    ok(parse(data, "old.geojson", vocabulary).candidates[0])


def test_any_other_crs_member_refuses_the_file(vocabulary: Vocabulary) -> None:
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25833"}}
    message = refused(collection(feature(point(), title="Grop"), crs=crs), "a.geojson", vocabulary)
    assert "EPSG::25833" in message
    assert "RFC 7946" in message


def test_a_crs_on_one_feature_is_that_features_error(vocabulary: Vocabulary) -> None:
    bad = feature(point(), title="Grop")
    bad["crs"] = {"type": "link", "properties": {"href": "x"}}
    parsed = parse(collection(feature(point(), title="Ok"), bad), "a.geojson", vocabulary)
    ok(parsed.candidates[0])
    assert "RFC 7946" in parsed.candidates[1].errors[0]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_nan_and_infinity_refuse_the_file(vocabulary: Vocabulary, literal: str) -> None:
    text = (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"title": "Grop"},\n "geometry": {"type": "Point", "coordinates": [LITERAL, 69.9]}}]}'
    ).replace("LITERAL", literal)
    message = refused(text, "a.geojson", vocabulary)
    assert "NaN, Infinity" in message
    assert "line 2" in message


def test_not_json_refuses_the_file(vocabulary: Vocabulary) -> None:
    message = refused('{"type": "FeatureCollection", "features": [', "a.geojson", vocabulary)
    assert "not valid JSON" in message
    assert "not a GeoJSON FeatureCollection" in refused('{"a": 1}', "a.geojson", vocabulary)


def test_not_utf8_refuses_the_file(vocabulary: Vocabulary) -> None:
    data = "title,lon,lat\nGrøft,23.27,69.97\n".encode("latin-1")
    assert "not UTF-8" in refused(data, "a.csv", vocabulary)
    assert "not UTF-8" in refused(b'{"title": "Gr\xf8ft"}', "a.geojson", vocabulary)


def test_bad_features_are_reported_with_their_number_and_title(vocabulary: Vocabulary) -> None:
    data = collection(
        feature(point(), title="Good"),
        feature({"type": "Polygon", "coordinates": BOWTIE}, title="Bowtie"),
        feature(point(10.7, 40.0), title="Rome-ish"),
        feature(point(69.97, 23.27), title="Swapped"),
        feature({"type": "MultiPoint", "coordinates": [list(ALTA)]}, title="Multi"),
        feature(None, title="Nowhere"),
        feature(point(), description="no title"),
        feature(point(), title="Odd type", type="ufo"),
        "not a feature",
    )
    candidates = parse(data, "a.geojson", vocabulary).candidates
    ok(candidates[0])
    errors = {c.number: (c.title, " ".join(c.errors)) for c in candidates[1:]}
    assert all(not c.importable for c in candidates[1:])
    assert errors[2][0] == "Bowtie" and "crosses itself" in errors[2][1]
    assert "outside Norway" in errors[3][1]
    assert errors[4][0] == "Swapped" and "swapped" in errors[4][1]
    assert "not supported" in errors[5][1]
    assert "no geometry" in errors[6][1]
    assert errors[7][0] == "" and "title is missing" in errors[7][1]
    assert "unknown value ufo" in errors[8][1]
    assert "not a GeoJSON Feature" in errors[9][1]


def test_more_features_than_the_limit_refuse_the_file(vocabulary: Vocabulary, monkeypatch) -> None:
    assert MAX_FEATURES == 5000
    monkeypatch.setattr("app.imports.parse.MAX_FEATURES", 50)  # the same rule, faster
    features = [feature(point(), title=f"Grop {n}") for n in range(51)]
    message = refused(collection(*features), "big.geojson", vocabulary)
    assert "51" in message and "50" in message
    rows = "title,lon,lat\n" + "Grop,23.27,69.97\n" * 51
    assert "51" in refused(rows, "big.csv", vocabulary)


def test_exactly_as_many_features_as_the_limit_are_read(
    vocabulary: Vocabulary, monkeypatch
) -> None:
    monkeypatch.setattr("app.imports.parse.MAX_FEATURES", 50)
    rows = "title,lon,lat\n" + "Grop,23.27,69.97\n" * 50
    assert len(parse(rows, "max.csv", vocabulary).candidates) == 50


# --- CSV ----------------------------------------------------------------------------------------


def test_csv_with_lon_lat(vocabulary: Vocabulary) -> None:
    text = (
        "Title,Lon,Lat,Type,Tags,Sources\n"
        "Grop 1,23.2715,69.9689,Hunting pit,elg; Fangst ,Askeladden\n"
        '"Grop, nummer 2",23.28,69.97,,,\n'
    )
    parsed = parse(text, "sites.csv", vocabulary)
    assert parsed.kind == "csv"
    first, second = (ok(c) for c in parsed.candidates)
    assert first.number == 2 and second.number == 3  # the file's lines, header is line 1
    assert first.shape is not None and first.shape.coords[0] == ALTA
    assert first.fields["trace_type"] == "fangstanlegg"
    assert first.fields["tags"] == ["elg", "fangst"]
    assert first.fields["sources"] == "Askeladden"
    assert second.title == "Grop, nummer 2"
    assert second.fields["trace_type"] is None


def test_csv_longitude_latitude_and_x_y_names(vocabulary: Vocabulary) -> None:
    for header in ("navn,longitude,latitude", "name,x,y"):
        candidate = ok(
            parse(f"{header}\nGrop,23.2715,69.9689\n", "a.csv", vocabulary).candidates[0]
        )
        assert candidate.shape is not None and candidate.shape.coords[0] == ALTA


def test_csv_with_semicolons_and_decimal_commas(vocabulary: Vocabulary) -> None:
    text = "tittel;lat;lon;periode\nGrop;69,9689;23,2715;jernalder\nMile;69,97;23,28;\n"
    first, second = (ok(c) for c in parse(text, "semikolon.csv", vocabulary).candidates)
    assert first.title == "Grop"
    assert first.shape is not None and first.shape.coords[0] == ALTA
    assert first.fields["period"] == "jernalder"
    assert second.shape is not None and second.shape.coords[0] == (23.28, 69.97)


def test_csv_with_a_bom(vocabulary: Vocabulary) -> None:
    data = b"\xef\xbb\xbftitle,lon,lat\nGrop,23.2715,69.9689\n"
    ok(parse(data, "excel.csv", vocabulary).candidates[0])


def test_csv_with_wkt(vocabulary: Vocabulary) -> None:
    text = (
        "title;wkt\n"
        "Vei;LINESTRING (23.27 69.96, 23.28 69.97)\n"
        "Tuft;POLYGON ((23.27 69.96, 23.27 69.97, 23.28 69.97, 23.28 69.96, 23.27 69.96))\n"
        "Bad;POLYGON ((23.27 69.96, 23.28 69.97\n"
        "Nan;POINT (NaN 69.9)\n"
    )
    line, polygon, bad, nan = parse(text, "wkt.csv", vocabulary).candidates
    assert ok(line).shape is not None and line.shape.geom_type == "LineString"
    assert ok(polygon).shape is not None and polygon.shape.exterior.is_ccw  # rewound
    assert "could not be read" in bad.errors[0]
    assert "finite" in nan.errors[0]


def test_csv_with_utm33_easting_northing(vocabulary: Vocabulary) -> None:
    text = "title,easting,northing\nGrop,815362.40,7783837.51\nSwapped,7783837.51,815362.40\n"
    grop, swapped = parse(text, "utm.csv", vocabulary, system="utm33").candidates
    assert ok(grop).shape is not None
    lon, lat = grop.shape.coords[0]
    assert lon == pytest.approx(ALTA[0], abs=1e-6) and lat == pytest.approx(ALTA[1], abs=1e-6)
    assert swapped.number == 3 and "swapped" in swapped.errors[0]


def test_csv_wkt_in_utm32(vocabulary: Vocabulary) -> None:
    e, n = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True).transform(
        10.7337, 59.9119
    )
    text = f"title,wkt\nRådhuset,POINT ({e} {n})\n"
    candidate = ok(parse(text, "utm.csv", vocabulary, system="utm32").candidates[0])
    assert candidate.shape is not None
    assert candidate.shape.coords[0] == pytest.approx((10.7337, 59.9119), abs=1e-7)


def test_easting_northing_need_a_zone(vocabulary: Vocabulary) -> None:
    message = refused("title,easting,northing\nGrop,815362,7783837\n", "utm.csv", vocabulary)
    assert "UTM zone" in message


def test_missing_title_column_refuses_the_file(vocabulary: Vocabulary) -> None:
    message = refused("label,lon,lat\nGrop,23.27,69.97\n", "a.csv", vocabulary)
    assert "title" in message
    assert "coordinate columns" in refused("title,a,b\nGrop,1,2\n", "a.csv", vocabulary)


def test_bad_rows_are_reported_with_their_row_number(vocabulary: Vocabulary) -> None:
    text = (
        "title,lon,lat,licence\n"
        "Good,23.27,69.97,\n"
        "\n"  # blank lines are skipped but still counted
        "Nan,nan,69.97,\n"
        ",23.27,69.97,\n"
        "Words,east,69.97,\n"
        "Swapped,69.97,23.27,\n"
        '"Multi\nline",23.27,69.97,public domain\n'
        "Long,23.27,69.97,,extra\n"
        "Inf,23.27,-inf,\n"
    )
    candidates = parse(text, "bad.csv", vocabulary).candidates
    ok(candidates[0])
    found = {c.number: " ".join(c.errors) for c in candidates[1:]}
    assert all(not c.importable for c in candidates[1:])
    assert "lon must be a finite number, not nan" in found[4]
    assert "title is missing" in found[5]
    assert "lon is not a number: east" in found[6]
    assert "swapped" in found[7]
    assert "Unknown licence" in found[8]
    assert "5 values" in found[10]
    assert "finite number" in found[11]


def test_float_nan_spellings_are_refused(vocabulary: Vocabulary) -> None:
    for spelled in ("NaN", "-nan", "Infinity", "inf", "1e999", "1_000"):
        text = f"title;lon;lat\nGrop;{spelled};69,97\n"
        candidate = parse(text, "a.csv", vocabulary).candidates[0]
        assert not candidate.importable, spelled


def test_file_names_lose_folders_and_control_characters() -> None:
    assert clean_filename("C:\\data\\funn 2024.csv") == "funn 2024.csv"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("a\x00b\nc.geojson") == "a b c.geojson"
    assert clean_filename("") == "upload"


# --- the signed report --------------------------------------------------------------------------


def test_the_sealed_report_round_trips_and_refuses_tampering() -> None:
    sealed = Sealed("geojson", "a.geojson", 7, 9, Held("ab" * 16, "cd" * 32), "utm33")
    token = seal(sealed, "secret")
    assert len(token) < 400  # whatever the file weighs
    assert unseal(token, "secret", max_age=60) == sealed
    with pytest.raises(SealBroken):
        unseal(token, "another secret", max_age=60)
    with pytest.raises(SealBroken):
        unseal(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "secret", max_age=60)
    with pytest.raises(SealBroken):
        unseal("garbage", "secret", max_age=60)


def test_held_files_are_claimed_once_and_checked(tmp_path: Path) -> None:
    held = hold(io.BytesIO(b"title,lon,lat\n"), tmp_path)
    assert (tmp_path / held.name).stat().st_mode & 0o777 == 0o600
    with claim(tmp_path, held) as file:
        assert file.read() == b"title,lon,lat\n"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(HeldMissing):
        claim(tmp_path, held)  # a second confirmation of the same report
    changed = hold(io.BytesIO(b"a"), tmp_path)
    (tmp_path / changed.name).write_bytes(b"b")
    with pytest.raises(HeldMissing):
        claim(tmp_path, changed)
    for name in ("../../etc/passwd", "x" * 32, ""):
        with pytest.raises(HeldMissing):
            claim(tmp_path, Held(name, held.digest))
    old = hold(io.BytesIO(b"old"), tmp_path)
    os.utime(tmp_path / old.name, (time.time() - 100, time.time() - 100))
    fresh = hold(io.BytesIO(b"new"), tmp_path)
    sweep(tmp_path, max_age=50)
    assert [p.name for p in tmp_path.iterdir()] == [fresh.name]


# --- our own export's columns and properties --------------------------------------------------

EXPORT_CSV = (
    "id,uri,title,type_code,type_label,period_code,period_label,condition_code,"
    "dating_method_code,tags,licence,attribution,project,recorded_at,approved_at,location,"
    "sensitive,source_uri,source_id,lon,lat,wkt,kommune\n"
    "12,http://here/traces/12,'=Grav,fangstanlegg,Fangstanlegg / fangstgrop,jernalder,"
    "Jernalder,intakt,c14,'-x;elg;a\\;b,CC0-1.0,'@Museum,alta,2020-05-01T10:00:00+00:00,"
    "2026-01-01T00:00:00+00:00,generalised,true,,,23.27,69.97,POINT(23.27 69.97),Alta\n"
    "13,http://here/traces/13,Vei,unknown-code,Kullgrop / kullmile,,,,,,CC-BY-4.0,A contributor,"
    "alta,2021-01-01T00:00:00+00:00,,precise,false,https://museum.example/7,M-7,23.3,69.9,"
    '"LINESTRING(23.3 69.9,23.31 69.91)",Alta\n'
)


def test_our_csv_export_is_read_whole(vocabulary: Vocabulary) -> None:
    parsed = parse(EXPORT_CSV, "traces-alta.csv", vocabulary)
    grave, road = (ok(c) for c in parsed.candidates)
    assert grave.title == "=Grav"  # the export's apostrophe is taken off again
    assert (grave.fields["trace_type"], grave.fields["period"]) == ("fangstanlegg", "jernalder")
    assert (grave.fields["condition"], grave.fields["dating_method"]) == ("intakt", "c14")
    assert grave.fields["tags"] == ["-x", "elg", "a;b"]
    assert grave.fields["attribution"] == "@Museum"
    assert grave.fields["source_uri"] == "http://here/traces/12"
    assert grave.fields["source_id"] == "12"
    assert grave.fields["recorded_at"] == "2020-05-01T10:00:00+00:00"
    assert grave.protected and grave.fields["location"] == "generalised"
    assert any("generalised" in note for note in grave.notes)
    # An unknown code falls back to the label; a file's own source wins over its uri and id.
    assert road.fields["trace_type"] == "kullgrop"
    assert (road.fields["source_uri"], road.fields["source_id"]) == ("https://museum.example/7",
                                                                     "M-7")  # fmt: skip
    assert not road.protected and road.shape is not None and road.shape.geom_type == "LineString"
    # lon and lat are not read when wkt is there; a column nobody knows is named too.
    assert parsed.unused == ["approved_at", "kommune", "lat", "lon", "project"]


def test_our_geojson_export_is_read_whole(vocabulary: Vocabulary) -> None:
    exported = feature(
        point(),
        uri="http://here/traces/5", title="Grop", description="d", description_text="d",
        type={"code": "fangstanlegg", "label": "Fangstanlegg", "label_en": "x", "uri": None},
        period=None, condition=None, dating_method=None, tags=["a;b"], sources="s",
        licence="CC-BY-4.0", attribution="A contributor", source_uri=None, source_id=None,
        project="alta", project_name="Alta", library="Alta bibliotek",
        recorded_at="2026-11-01T08:00:00.123456+00:00", updated_at="x", approved_at="x",
        approved_by_role="librarian", location="precise", sensitive=True, photos=[],
    )  # fmt: skip
    exported["id"] = 5
    parsed = parse(collection(exported), "traces.geojson", vocabulary)
    (candidate,) = (ok(c) for c in parsed.candidates)
    assert candidate.fields["trace_type"] == "fangstanlegg"
    assert (candidate.fields["source_uri"], candidate.fields["source_id"]) == (
        "http://here/traces/5", "5")  # fmt: skip
    assert candidate.fields["recorded_at"] == "2026-11-01T08:00:00.123456+00:00"
    assert candidate.protected and candidate.fields["location"] is None
    assert parsed.unused == [
        "approved_at", "approved_by_role", "description_text", "library", "project",
        "project_name", "updated_at",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("properties", "needle"),
    [
        ({"recorded_at": "yesterday"}, "recorded_at is not a date"),
        ({"recorded_at": "2999-01-01"}, "in the future"),
        ({"uri": "javascript:alert(1)"}, "source URI"),
        ({"source_uri": "https://x/" + "a" * 500}, "source URI"),
        ({"source_id": "x" * 201}, "source id"),
        ({"attribution": "x" * 301}, "attribution"),
        ({"sensitive": "maybe"}, "sensitive must be true or false"),
    ],
)
def test_bad_provenance_is_the_features_error(
    vocabulary: Vocabulary, properties: dict[str, Any], needle: str
) -> None:
    (candidate,) = parse(
        collection(feature(point(), title="Grop", **properties)), "a.geojson", vocabulary
    ).candidates
    assert not candidate.importable
    assert needle in " ".join(candidate.errors)


def test_a_file_can_protect_a_site_but_never_expose_one(vocabulary: Vocabulary) -> None:
    data = collection(
        feature(point(), title="A", sensitive="ja"),
        feature(point(), title="B", sensitive=False, location="Generalised for sensitive sites"),
        feature(point(), title="C", sensitive=False, type="fangstanlegg"),
    )
    a, b, c = (ok(x) for x in parse(data, "a.geojson", vocabulary).candidates)
    assert a.protected and b.protected
    assert not c.protected  # the vocabulary's rule protects it in the database, not the file


def test_geojson_is_read_one_feature_at_a_time(vocabulary: Vocabulary, monkeypatch) -> None:
    # Tiny chunks put every boundary inside a value; members may come in any order.
    monkeypatch.setattr("app.imports.jsonstream.CHUNK_CHARS", 7)
    features = [feature(point(23.27 + n / 1000, 69.97), title=f"Grop {n}") for n in range(5)]
    text = json.dumps({"features": features, "type": "FeatureCollection"}, indent=3)
    parsed = parse(" \n" + text + "\n\n", "a.geojson", vocabulary)
    assert [ok(c).title for c in parsed.candidates] == [f"Grop {n}" for n in range(5)]
    assert "not valid JSON" in refused(text + "x", "a.geojson", vocabulary)
    assert "not valid JSON" in refused(text.replace("]", "],", 1), "a.geojson", vocabulary)
    assert "not a GeoJSON" in refused(json.dumps({"features": features}), "a.geojson",
                                      vocabulary)  # fmt: skip
    message = refused(text.replace("69.97", "NaN", 3), "a.geojson", vocabulary)
    assert "NaN, Infinity" in message
