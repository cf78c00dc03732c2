"""Near-duplicates in the queue, in a real browser: entries close together are one group with
one map, and the librarian keeps one and merges the others in at most two moves (counted);
screenshots at desktop and tablet width; axe finds nothing in the group."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select

from app.auth.operations import register_user
from app.db import db
from app.models import Comment, Membership, MembershipRole, Project, Trace, TraceStatus, UserRole
from app.moderation.groups import metres_per_degree
from tests.browser.conftest import Watch, choose_language, login, screenshot
from tests.browser.test_accessibility import AXE
from tests.conftest import PASSWORD

LIBRARIAN = "bibliotekar@example.org"
MAX_MOVES = 2
GRAVE = (23.27, 69.97)  # a cairn by the lake: three residents report it, one trace is known
CHURCH = (23.30, 69.98)  # a church ruin ~1.3 km away: two reports, nothing known yet


def at(origin: tuple[float, float], dx: float, dy: float) -> Point:
    kx, ky = metres_per_degree(origin[1])
    return Point(origin[0] + dx / kx, origin[1] + dy / ky)


def _seed(seed: Callable[..., Any]) -> dict[str, int]:
    """Project alta, its librarian, two groups of reports and one lone entry."""

    def fn() -> dict[str, int]:
        project = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        db.session.add(project)
        librarian = register_user(LIBRARIAN, "Bibliotekar Liv", PASSWORD, role=UserRole.LIBRARIAN)
        people = [
            register_user(f"beboer{i}@example.org", name, PASSWORD)
            for i, name in enumerate(["Beboer Bo", "Rita Resident", "Kari Nordmann"])
        ]
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=librarian.id,
                       role=MembershipRole.LIBRARIAN, granted_by_id=librarian.id)
        )  # fmt: skip
        start = datetime(2026, 10, 1, tzinfo=UTC)
        ids: dict[str, int] = {}

        def add(key: str, title: str, where: Point, n: int, status: TraceStatus, text: str) -> None:
            trace = Trace(project_id=project.id, author_id=people[n % 3].id, title=title,
                          description=text, geom=from_shape(where, srid=4326), status=status,
                          licence="CC-BY-4.0", submitted_at=start + timedelta(hours=n))  # fmt: skip
            if status == TraceStatus.APPROVED:
                trace.approved_by_id, trace.approved_at = librarian.id, start
            db.session.add(trace)
            db.session.flush()
            ids[key] = trace.id

        add("known", "Gravrøys ved Storvannet", at(GRAVE, 0, 0), 0, TraceStatus.APPROVED,
            "Kjent gravrøys, registrert 1978.")  # fmt: skip
        add("g1", "Steinrøys ved vannet", at(GRAVE, 8, 4), 1, TraceStatus.PENDING,
            "Stor røys av rundstein, ca. 6 m i diameter.")  # fmt: skip
        add("g2", "Gravhaug?", at(GRAVE, -15, 10), 2, TraceStatus.PENDING,
            "Bestefar fortalte at det var en grav her.")  # fmt: skip
        add("lone", "Fangstgrop i lia", at(GRAVE, 2000, 900), 3, TraceStatus.PENDING,
            "Rund grop, 3 m.")  # fmt: skip
        add("g3", "Røys", at(GRAVE, 20, -60), 4, TraceStatus.PENDING, "")
        add("c1", "Kirkeruin", at(CHURCH, 0, 0), 5, TraceStatus.PENDING, "Murrester.")
        add("c2", "Gammel kirketomt", at(CHURCH, 30, 12), 6, TraceStatus.PENDING,
            "Her stod kirken før 1700, med murer av gråstein. Tuftene synes godt.")  # fmt: skip
        return ids

    return seed(fn)


class Moves:
    """Clicks the librarian makes, counted (loading a page or waiting is not a move)."""

    def __init__(self) -> None:
        self.steps: list[str] = []

    def click(self, locator: Any, what: str) -> None:
        """One click on an element."""
        self.steps.append(what)
        locator.click()

    def __len__(self) -> int:
        return len(self.steps)

    def report(self) -> str:
        """The counted moves, numbered."""
        return "\n".join(f"{n}. {step}" for n, step in enumerate(self.steps, 1))


def _english(page: Any) -> None:
    choose_language(page, "en")


def _traces(seed: Callable[..., Any], ids: dict[str, int]) -> dict[str, tuple[Any, ...]]:
    def fn() -> dict[str, tuple[Any, ...]]:
        found = {}
        for key, trace_id in ids.items():
            trace = db.session.get(Trace, trace_id)
            observations = db.session.execute(
                select(Comment.body).where(Comment.trace_id == trace_id)
            ).scalars()
            found[key] = (trace.status, trace.duplicate_of_id, len(list(observations)))
        return found

    return seed(fn)


def test_a_group_is_merged_in_two_moves(
    seed: Callable[..., Any], new_page: Callable[..., Any], watch: Watch
) -> None:
    ids = _seed(seed)
    page = new_page()
    login(page, LIBRARIAN)
    _english(page)
    page.goto("/moderation/alta")
    groups = page.locator(".dup-group")
    assert groups.count() == 2
    first, second = groups.nth(0), groups.nth(1)
    # The cairn's three reports are one group, with the known trace on its map and kept by
    # default; the lone entry is a row of its own; the church's two reports are the second.
    assert first.locator(".dup-map svg circle").count() == 4
    assert first.locator(f"#entry-{ids['g1']}, #entry-{ids['g2']}, #entry-{ids['g3']}").count() == 3
    assert first.locator("input[name=keep]:checked").get_attribute("value") == str(ids["known"])
    assert page.locator(f".queue-rows > #entry-{ids['lone']}").count() == 1
    assert second.locator("input[name=keep]:checked").get_attribute("value") == str(ids["c1"])
    # Each pending entry is on the page exactly once.
    for key in ("g1", "g2", "g3", "lone", "c1", "c2"):
        assert page.locator(f"#entry-{ids[key]}").count() == 1, key
    # Nothing focusable inside a picture (axe: nested-interactive).
    assert (
        page.locator(".dup-group svg[role=img] a, .dup-group svg[role=img] [tabindex]").count() == 0
    )
    for name, width, height in (
        ("desktop-1280", 1280, 900),
        ("tablet-820", 820, 1180),
        ("phone-390", 390, 844),
    ):
        page.set_viewport_size({"width": width, "height": height})
        # The group's top just under the sticky bulk bar, as a librarian scrolls to it.
        first.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + scrollY - 150)")
        page.screenshot(path=str(_artifact(f"duplicate-group-{name}")))
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "duplicate-group-queue-1280")

    act = Moves()
    # The cairn: the known trace is already chosen: one press merges the three reports into it.
    act.click(first.get_by_role("button", name="Merge the others into it"), "merge (cairn)")
    page.wait_for_load_state()
    assert (
        "Merged 3 entries into “Gravrøys ved Storvannet”." in page.locator(".flashes").inner_text()
    )
    cairn_moves = len(act)
    # The church: keep the later, fuller report and approve it in the same submit.
    church = page.locator(".dup-group")
    assert church.count() == 1
    act.click(church.get_by_role("radio", name="Keep: B Gammel kirketomt"), "keep the fuller one")
    act.click(church.get_by_role("button", name="Merge the others into it"), "merge (church)")
    page.wait_for_load_state()
    church_moves = len(act) - cairn_moves
    print(f"\nduplicate groups: cairn {cairn_moves} move(s), church {church_moves}\n{act.report()}")
    assert cairn_moves <= MAX_MOVES and church_moves <= MAX_MOVES, act.report()
    flashes = page.locator(".flashes").inner_text()
    assert "Merged 1 entry into “Gammel kirketomt”." in flashes
    assert "“Gammel kirketomt” is approved and on the map." in flashes
    assert page.locator(".dup-group").count() == 0
    assert page.locator(f"#entry-{ids['lone']}").count() == 1

    after = _traces(seed, ids)
    assert after["known"] == (TraceStatus.APPROVED, None, 3)
    for key in ("g1", "g2", "g3"):
        assert after[key][:2] == (TraceStatus.REJECTED, ids["known"]), key
    assert after["c2"] == (TraceStatus.APPROVED, None, 1)
    assert after["c1"][:2] == (TraceStatus.REJECTED, ids["c2"])
    assert after["lone"][0] == TraceStatus.PENDING
    assert watch.page_errors == []


def test_the_group_has_no_axe_violations(
    seed: Callable[..., Any], new_page: Callable[..., Any]
) -> None:
    _seed(seed)
    page = new_page()
    login(page, LIBRARIAN)
    for language in ("nb", "en"):
        if language == "en":
            _english(page)
        page.goto("/moderation/alta")
        page.evaluate(AXE)
        violations = page.evaluate(
            """async () => (await axe.run('.dup-group', {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations
                .map(v => ({id: v.id, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
        )
        assert violations == [], (language, violations)


def test_approve_is_offered_only_for_a_waiting_entry_and_the_kept_one_is_not_ticked(
    seed: Callable[..., Any], new_page: Callable[..., Any]
) -> None:
    ids = _seed(seed)
    page = new_page()
    login(page, LIBRARIAN)
    page.goto("/moderation/alta")
    cairn = page.locator(".dup-group").first
    approve = cairn.locator("input[name=approve]")
    assert not approve.is_visible()  # the known trace is kept: it is approved already
    cairn.locator(f"input[name=keep][value='{ids['g2']}']").check()
    assert approve.is_visible() and approve.is_checked()
    tick = cairn.locator(f"input[name=merge][value='{ids['g2']}']")
    assert not tick.is_visible()  # the kept one is never merged into itself
    assert cairn.locator(f"input[name=merge][value='{ids['g1']}']").is_visible()


def _artifact(name: str) -> Any:
    from tests.serving import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"
