"""touch traces when their provenance changes what a harvester receives

Revision ID: 20261203e5f6
Revises: 20261203a1b2
Create Date: 2026-11-30 14:00:00

A feature carries the informant's name and year of birth (only with their consent), how the
knowledge was passed on, whether it was recorded for an informant, and the recorder's display
name (only when the recorder shows it publicly). A change to any of them, above all a consent
withdrawn, must move updated_at, or incremental harvesters keep a name they may no longer
publish. The recorder lives in users: their name or consent changing touches their traces too.
"""

from alembic import op

revision = "20261203e5f6"
down_revision = "20261203a1b2"
branch_labels = None
depends_on = None

_FIELDS = (
    "status, project_id, geom, public_geom, is_sensitive, title, description, trace_type_id, "
    "period_id, condition_id, dating_method_id, tags, sources, licence, approved_at, "
    "approved_by_id, author_id, source_attribution, source_uri, source_id, recorded_at"
)
_PROVENANCE = (
    ", recorder_id, informant_name, informant_birth_year, informant_consent, knowledge_source"
)


def _touch(fields: str) -> str:
    new = ", ".join(f"NEW.{name.strip()}" for name in fields.split(","))
    old = ", ".join(f"OLD.{name.strip()}" for name in fields.split(","))
    return f"""
CREATE OR REPLACE FUNCTION heritage_traces_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF ({new})
     IS DISTINCT FROM
     ({old})
  THEN
    NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at);
  END IF;
  RETURN NEW;
END
$$
"""


def _users(recorded_too: bool) -> str:
    # Two statements, not one OR: the author's walks ix_traces_author. The recorder's scans
    # (no index on recorder_id yet), but only when a name or its consent changes.
    recorded = """
    UPDATE traces SET updated_at = greatest(clock_timestamp(), updated_at)
     WHERE recorder_id = NEW.id AND status = 'approved';""" if recorded_too else ""
    return f"""
CREATE OR REPLACE FUNCTION heritage_users_touch_traces() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.display_name, NEW.show_name_publicly)
     IS DISTINCT FROM (OLD.display_name, OLD.show_name_publicly)
  THEN
    UPDATE traces SET updated_at = greatest(clock_timestamp(), updated_at)
     WHERE author_id = NEW.id AND status = 'approved';{recorded}
  END IF;
  RETURN NEW;
END
$$
"""


def upgrade():
    op.execute(_touch(_FIELDS + _PROVENANCE))
    op.execute(_users(recorded_too=True))


def downgrade():
    op.execute(_users(recorded_too=False))
    op.execute(_touch(_FIELDS))
