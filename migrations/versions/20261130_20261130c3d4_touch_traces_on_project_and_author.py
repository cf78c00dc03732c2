"""touch traces when their project or author changes what a harvester receives

Revision ID: 20261130c3d4
Revises: 20261130a1b2
Create Date: 2026-11-30 06:20:00

A feature carries the project's slug, name and library, and the author's display name when they
consent to show it. Those live outside the traces row, so changing them must move the
updated_at of the traces concerned, or incremental harvesters keep the old text (and a name
whose consent was withdrawn).
"""

from alembic import op

revision = '20261130c3d4'
down_revision = '20261130a1b2'
branch_labels = None
depends_on = None

PROJECT_FUNCTION = """
CREATE OR REPLACE FUNCTION heritage_projects_touch_traces() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.slug, NEW.name, NEW.library_name) IS DISTINCT FROM (OLD.slug, OLD.name, OLD.library_name)
  THEN
    UPDATE traces SET updated_at = greatest(clock_timestamp(), updated_at)
     WHERE project_id = NEW.id AND status = 'approved';
  END IF;
  RETURN NEW;
END
$$
"""
PROJECT_TRIGGER = """
CREATE TRIGGER projects_touch_traces
AFTER UPDATE ON projects FOR EACH ROW EXECUTE FUNCTION heritage_projects_touch_traces()
"""

USER_FUNCTION = """
CREATE OR REPLACE FUNCTION heritage_users_touch_traces() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.display_name, NEW.show_name_publicly)
     IS DISTINCT FROM (OLD.display_name, OLD.show_name_publicly)
  THEN
    UPDATE traces SET updated_at = greatest(clock_timestamp(), updated_at)
     WHERE author_id = NEW.id AND status = 'approved';
  END IF;
  RETURN NEW;
END
$$
"""
USER_TRIGGER = """
CREATE TRIGGER users_touch_traces
AFTER UPDATE ON users FOR EACH ROW EXECUTE FUNCTION heritage_users_touch_traces()
"""


def upgrade():
    for statement in (PROJECT_FUNCTION, PROJECT_TRIGGER, USER_FUNCTION, USER_TRIGGER):
        op.execute(statement)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS users_touch_traces ON users")
    op.execute("DROP FUNCTION IF EXISTS heritage_users_touch_traces()")
    op.execute("DROP TRIGGER IF EXISTS projects_touch_traces ON projects")
    op.execute("DROP FUNCTION IF EXISTS heritage_projects_touch_traces()")
