"""Vocabulary labels in Nynorsk and Northern Sami (migration 20261205b2c3): present after
migrating, and a librarian's own label survives the upgrade and the downgrade."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Scheme, Term

MIGRATION = (
    Path(__file__).resolve().parents[2]
    / "migrations/versions/20261205_20261205b2c3_vocabulary_labels_nn_se.py"
)


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vocabulary_labels_nn_se", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(session: Session, step: str) -> None:
    """Run the migration's upgrade or downgrade inside the test's transaction."""
    module = _migration()
    context = MigrationContext.configure(session.connection())
    with Operations.context(context):
        getattr(module, step)()
    session.expire_all()


def _term(session: Session, scheme: Scheme, code: str) -> Term:
    return session.execute(
        select(Term).where(Term.scheme == scheme, Term.code == code)
    ).scalar_one()


def test_every_active_seeded_term_has_nynorsk_and_sami_labels(session: Session) -> None:
    seeded = _migration().LABELS
    terms = session.execute(select(Term).where(Term.is_active)).scalars().all()
    by_key = {(term.scheme.value, term.code): term for term in terms}
    assert set(seeded) <= set(by_key), "every term the migration names is seeded"
    missing = [key for key in seeded if not by_key[key].label_nn or not by_key[key].label_se]
    assert missing == []
    assert _term(session, Scheme.CONDITION, "forsvunnet").label("se") == "Jávkan"
    assert _term(session, Scheme.TRACE_TYPE, "annet").label("nn") == "Anna"


def test_upgrade_keeps_a_librarians_label_and_downgrade_removes_only_its_own(
    session: Session,
) -> None:
    naust = _term(session, Scheme.TRACE_TYPE, "naust")
    seter = _term(session, Scheme.TRACE_TYPE, "seter")
    samisk = _term(session, Scheme.TRACE_TYPE, "samisk")
    seeded_samisk = samisk.label_se
    assert seeded_samisk  # the seed migration wrote this one; this migration leaves it
    naust.label_se = "Fanasgoahti (bibliotekára)"
    seter.label_se = None
    seter.label_nn = None
    session.flush()

    _run(session, "downgrade")
    assert _term(session, Scheme.TRACE_TYPE, "naust").label_se == "Fanasgoahti (bibliotekára)"
    assert _term(session, Scheme.PERIOD, "middelalder").label_se is None
    assert _term(session, Scheme.TRACE_TYPE, "samisk").label_se == seeded_samisk
    # The Nynorsk labels are the seed's own: the downgrade cannot tell them apart and keeps them.
    assert _term(session, Scheme.PERIOD, "middelalder").label_nn == "Mellomalder (1050–1537)"

    _run(session, "upgrade")
    assert _term(session, Scheme.TRACE_TYPE, "naust").label_se == "Fanasgoahti (bibliotekára)"
    assert _term(session, Scheme.PERIOD, "middelalder").label_se == "Gaskaáigi (1050–1537)"
    refilled = _term(session, Scheme.TRACE_TYPE, "seter")
    assert (refilled.label_nn, refilled.label_se) == ("Seter / støl", "Geassedállu")
    assert _term(session, Scheme.TRACE_TYPE, "samisk").label_se == seeded_samisk
