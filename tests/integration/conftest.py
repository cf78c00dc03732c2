"""Fixtures shared by the integration tests that probe every route and both API documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, User, UserRole


@pytest.fixture
def world(
    session: Session, make_user: Callable[..., User], make_project: Callable[..., Project],
    make_trace: Callable[..., Trace],
) -> dict[str, Any]:  # fmt: skip
    """A project (slug "probe") with an approved and a pending trace, and its librarian."""
    librarian = make_user(UserRole.LIBRARIAN)
    project = make_project(slug="probe")
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()
    trace = make_trace(project=project)
    make_trace(project=project, status=TraceStatus.PENDING)
    return {"librarian": librarian, "project": project, "trace": trace}


@pytest.fixture
def anonymous(app: Flask, session: Session) -> FlaskClient:
    """A second client that never logs in, beside `client` (which a test may log in)."""
    return app.test_client()


@pytest.fixture
def people(session: Session, make_user, make_project) -> dict[str, Any]:
    """A project with an author, another resident, a curator, a librarian and an admin
    (the history and resubmission tests)."""
    project = make_project(slug="alta")
    users = {
        "author": make_user(name="Author Anna"),
        "other": make_user(name="Other Ola"),
        "curator": make_user(name="Curator Kari"),
        "librarian": make_user(name="Librarian Lise"),
        "admin": make_user(role=UserRole.ADMIN, name="Admin Arne"),
    }
    for name, role in (
        ("curator", MembershipRole.CURATOR),
        ("librarian", MembershipRole.LIBRARIAN),
    ):
        session.add(Membership(project_id=project.id, user_id=users[name].id, role=role))
    session.commit()
    return {"project": project, **users}
