"""The delivery log: who received which data, when, and whether precisely.

An entry is a side record of a read, so it is written with app.db.write_aside on a connection
of its own and committed at once: it neither rides on nor is undone by the request's
transaction, and a delivery is never without its entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from app.db import write_aside
from app.models import ExportLog
from app.publication.receiver import Receiver

if TYPE_CHECKING:
    from app.export.stream import Export


def log_delivery(
    channel: str,
    fmt: str,
    query: dict[str, Any],
    count: int,
    precise: bool,
    *,
    user_id: int | None = None,
    partner_token_id: int | None = None,
) -> None:
    """Write one export log entry, committed at once."""
    write_aside(
        insert(ExportLog).values(
            user_id=user_id,
            partner_token_id=partner_token_id,
            channel=channel,
            format=fmt,
            query=query,
            feature_count=count,
            precise=precise,
        )
    )


def record_delivery(
    export: Export,
    channel: str,
    *,
    user_id: int | None = None,
    partner_token_id: int | None = None,
) -> None:
    """Log an opened streamed export (web download or `flask export`)."""
    summary = export.summary
    assert summary is not None, "open() the export before logging it"
    log_delivery(channel, export.format, export.filters.describe(), summary.count,
                 summary.precise, user_id=user_id, partner_token_id=partner_token_id)  # fmt: skip


def record_reading(
    receiver: Receiver, fmt: str, query: dict[str, Any], count: int, precise: bool
) -> None:
    """Log what a partner token read from the OGC API; anonymous reads are not logged."""
    if receiver.token is None:
        return
    log_delivery("ogc", fmt, query, count, precise,
                 user_id=receiver.viewer.id if receiver.viewer else None,
                 partner_token_id=receiver.token.id)  # fmt: skip
