"""Demo projects, accounts and traces around four municipalities from the 'Biblioteket som
samskaper' project. Clearly marked as demo data; loading twice adds nothing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from sqlalchemy import func, select

from app.auth.operations import register_user
from app.db import db
from app.models import (
    Membership,
    MembershipRole,
    Project,
    Scheme,
    Term,
    Trace,
    TraceStatus,
    User,
    UserRole,
)
from app.places.importer import ImportReport, import_file
from app.traces.operations import record_revision
from geo.geometry import finish

# Real names of the four municipalities' places, positions approximate (written by hand).
DEMO_PLACES = Path(__file__).parent / "places" / "data" / "demo_places.geojson"
DEMO_PASSWORD = "demo-passord-2026"  # noqa: S105 - documented demo accounts, refused in production
DEMO_USERS = [
    ("bibliotekar@demo.example.org", "Demo-bibliotekar", UserRole.LIBRARIAN),
    ("beboer@demo.example.org", "Demo-beboer", UserRole.RESIDENT),
    ("kurator@demo.example.org", "Demo-kurator", UserRole.RESIDENT),
]

# slug, name, library, centre (lon, lat), places nearby
PROJECTS = [
    ("demo-alta", "Demo: Kulturspor i Alta", "Alta bibliotek", (23.27, 69.97),
     ["Komsa", "Hjemmeluft", "Kåfjord", "Bossekop", "Tverrelvdalen", "Transfarelv",
      "Storvannet", "Skillemo", "Kvenvik", "Rafsbotn"]),
    ("demo-gjesdal", "Demo: Kulturspor i Gjesdal", "Gjesdal bibliotek", (5.93, 58.77),
     ["Ålgård", "Oltedal", "Dirdal", "Frafjord", "Gilja", "Edland", "Bjorsvatnet",
      "Limavatnet"]),
    ("demo-ovre-eiker", "Demo: Kulturspor i Øvre Eiker", "Øvre Eiker bibliotek", (9.90, 59.79),
     ["Hokksund", "Vestfossen", "Darbu", "Skotselv", "Ormåsen", "Fiskum", "Semsvannet"]),
    ("demo-vestre-toten", "Demo: Kulturspor i Vestre Toten", "Vestre Toten bibliotek",
     (10.58, 60.63),
     ["Raufoss", "Reinsvoll", "Bøverbru", "Eina", "Sillongen", "Hunn", "Einafjorden"]),
]  # fmt: skip

# trace type -> (title pattern, shape, typical period, description)
KINDS = {
    "fangstanlegg": ("Fangstgroper ved {place}", "point", "jernalder",
                     "Tre runde groper på rekke, om lag fire meter i diameter, på eiden mellom "
                     "to vann. Grunneieren kaller dem *dyregravene*."),
    "kullgrop": ("Kullgrop sør for {place}", "point", "middelalder",
                 "Rund grop med voll, omtrent seks meter over. Kull i rotveltene ved siden av."),
    "boplass": ("Hustuft på {place}", "polygon", "nyere-tid",
                "Rektangulær tuft med synlige grunnsteiner. Her sto en husmannsplass som ble "
                "fraflyttet rundt 1900, ifølge folk i bygda."),
    "ferdselsspor": ("Gamle kirkeveien fra {place}", "line", "nyere-tid",
                     "Hulvei og steinsatte partier i lia. Brukt til kirke og marked før "
                     "bilveien kom."),
    "steingjerde": ("Steingjerde ved {place}", "line", "nyere-tid",
                    "Godt bevart steingjerde langs den gamle innmarka."),
    "krigsminne": ("Skyttergrav ovenfor {place}", "line", "andre-verdenskrig",
                   "Sikksakk-formet skyttergrav fra 1940, delvis gjengrodd."),
    "seter": ("Setervoll i {place}", "polygon", "nyere-tid",
              "Tufter etter sel og fjøs, og en tydelig setervoll med annen vegetasjon."),
    "stedsnavn": ("«Tjuvhola» ved {place}", "point", "ukjent",
                  "Eldre folk forteller at en tjuv gjemte seg her. Navnet står ikke på kartet."),
    "industriminne": ("Gammel sag ved {place}", "point", "nyere-tid",
                      "Murer etter oppgangssag og demning i elva."),
}  # fmt: skip


def load_demo(per_project: int = 14, seed: int = 2026) -> str:
    """Create the demo accounts, projects and traces unless they exist; returns a summary."""
    users = {email: _demo_user(email, name, role) for email, name, role in DEMO_USERS}
    librarian = users[DEMO_USERS[0][0]]
    resident = users[DEMO_USERS[1][0]]
    terms = {(t.scheme, t.code): t for t in db.session.execute(select(Term)).scalars()}
    rng = random.Random(seed)
    created = 0
    for slug, name, library, centre, places in PROJECTS:
        existing = db.session.execute(select(Project).where(Project.slug == slug)).scalar()
        if existing is not None:
            if existing.area is None:  # demo data from before projects had demo areas
                existing.area = _demo_area(centre)
            continue
        project = Project(
            slug=slug,
            name=name,
            library_name=library,
            description=(
                "Demodata: oppdiktede kulturspor for å vise hvordan tjenesten virker. "
                "Ingen av disse stedene er registrert av ekte innbyggere."
            ),
            is_demo=True,
            area=_demo_area(centre),
        )
        db.session.add(project)
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN,
                       granted_by_id=librarian.id)
        )  # fmt: skip
        if slug == "demo-alta":  # a trusted resident with curation rights, as in the pilot
            db.session.add(
                Membership(project_id=project.id, user_id=users[DEMO_USERS[2][0]].id,
                           role=MembershipRole.CURATOR, granted_by_id=librarian.id)
            )  # fmt: skip
        for index in range(per_project):
            kind = list(KINDS)[index % len(KINDS)]
            created += _demo_trace(
                project, kind, places[index % len(places)], centre, rng, terms,
                author=resident, librarian=librarian, pending=index % 7 == 6,
            )  # fmt: skip
    total = db.session.execute(select(func.count(Trace.id))).scalar_one()
    places = load_demo_places()
    return (
        f"Demo data ready: {created} traces added, {total} in the database; "
        f"{places.added} demo place names added."
    )


def _demo_area(centre: tuple[float, float]):  # noqa: ANN202 - a WKB element
    """A box around the municipality, wide enough for its demo traces: the place then chooses
    the project on the new-trace form, and a point in another municipality is flagged."""
    lon, lat = centre
    west, south, east, north = (round(v, 4) for v in (lon - 0.45, lat - 0.2, lon + 0.45, lat + 0.2))
    return from_shape(MultiPolygon([box(west, south, east, north)]), 4326)


def load_demo_places() -> ImportReport:
    """The demo municipalities' place names (approximate positions) through the importer."""
    return import_file(DEMO_PLACES, source="demo")


def _demo_user(email: str, name: str, role: UserRole) -> User:
    user = db.session.execute(
        select(User).where(User.email_normalized == email)
    ).scalar_one_or_none()
    return user or register_user(email, name, DEMO_PASSWORD, role=role)


def _demo_trace(
    project: Project,
    kind: str,
    place: str,
    centre: tuple[float, float],
    rng: random.Random,
    terms: dict[tuple[Scheme, str], Term],
    *,
    author: User,
    librarian: User,
    pending: bool,
) -> int:
    title, shape, period, description = KINDS[kind]
    lon = centre[0] + rng.uniform(-0.25, 0.25)
    lat = centre[1] + rng.uniform(-0.1, 0.1)
    if shape == "point":
        geometry = Point(lon, lat)
    elif shape == "line":
        steps = [
            (lon + i * 0.002, lat + rng.uniform(-0.0008, 0.0008) + i * 0.001) for i in range(6)
        ]
        geometry = LineString(steps)
    else:
        w, h = rng.uniform(0.0002, 0.0008), rng.uniform(0.0001, 0.0004)
        geometry = Polygon([(lon, lat), (lon + w, lat), (lon + w, lat + h), (lon, lat + h)])
    submitted = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 80))
    trace = Trace(
        project_id=project.id,
        author_id=author.id,
        title=title.format(place=place),
        description=description + "\n\n*(Demodata.)*",
        sources="Demodata",
        licence="CC-BY-4.0",
        geom=from_shape(finish(geometry), srid=4326),
        trace_type_id=terms[(Scheme.TRACE_TYPE, kind)].id,
        period_id=terms[(Scheme.PERIOD, period)].id,
        condition_id=terms[(Scheme.CONDITION, rng.choice(["intakt", "delvis-skadet"]))].id,
        dating_method_id=terms[(Scheme.DATING_METHOD, "muntlig-kilde")].id,
        status=TraceStatus.PENDING if pending else TraceStatus.APPROVED,
        submitted_at=submitted,
        created_at=submitted,
        approved_by_id=None if pending else librarian.id,
        approved_at=None if pending else submitted + timedelta(days=3),
    )
    db.session.add(trace)
    db.session.flush()
    record_revision(trace, author, event={"kind": "demo"})
    return 1
