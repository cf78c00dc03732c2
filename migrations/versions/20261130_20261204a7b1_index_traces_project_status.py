"""index on traces (project_id, status)

Revision ID: 20261204a7b1
Revises: 20261203c7d8
Create Date: 2026-11-30 14:10:00

The project's story page (docs/story.md) counts a project's approved and decided traces, and
the project list counts approved traces per project: without an index on the project every
count read the whole table (about 0.5 s a pass at a million traces). With it, a project's
traces are found through the index (a bitmap scan of that project's rows only).
"""

from alembic import op

revision = "20261204a7b1"
down_revision = "20261203c7d8"
branch_labels = None
depends_on = None


def upgrade():
    # CONCURRENTLY, outside the migration's transaction: residents keep submitting while the
    # index of a million-row table is built (a plain CREATE INDEX blocks every write meanwhile).
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_traces_project_status",
            "traces",
            ["project_id", "status"],
            unique=False,
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade():
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_traces_project_status",
            table_name="traces",
            postgresql_concurrently=True,
            if_exists=True,
        )
