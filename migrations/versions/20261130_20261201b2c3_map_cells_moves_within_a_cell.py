"""map cells: a move within a cell updates its centre

Revision ID: 20261201b2c3
Revises: 20261201a1b2
Create Date: 2026-11-30 08:25:00

The trigger skipped a cell whose count and id sum did not change, so a trace moved (or made
protected) within the same cell left the cell's centre where it was. The sums of x and y now
count as a change too. Only UPDATEs whose public presence or point changed reach the sums, so
no rounding residue of unchanged rows can write a cell.
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = '20261201b2c3'
down_revision = '20261201a1b2'
branch_labels = None
depends_on = None

_OLD = "HAVING sum(p.sign) <> 0 OR sum(p.sign * p.id) <> 0"
_NEW = (
    "HAVING sum(p.sign) <> 0 OR sum(p.sign * p.id) <> 0"
    " OR sum(p.sign * p.x) <> 0 OR sum(p.sign * p.y) <> 0"
)


def _previous():
    """The trigger function as the previous migration wrote it (one source for its SQL)."""
    path = Path(__file__).with_name("20261130_20261201a1b2_map_cells_places_search.py")
    spec = importlib.util.spec_from_file_location("_map_cells_places_search", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TRIGGER_FUNCTION


def upgrade():
    function = _previous()
    assert _OLD in function
    op.execute(function.replace(_OLD, _NEW))
    op.execute("SELECT heritage_map_cells_rebuild()")


def downgrade():
    op.execute(_previous())
