"""map cells, places, search

Revision ID: 20261201a1b2
Revises: 20261130c3d4
Create Date: 2026-11-30 07:59:28.250772

- map_cells: the public map's low-zoom clusters, precomputed per zoom 0-11 on 64-px Web Mercator
  cells (a quarter of a tile side) and kept exact by statement-level triggers on traces that add
  and subtract each statement's changes, in key order (so concurrent writers lock cells in one
  order). Protected sites count at their public point. heritage_map_cells_rebuild() recomputes
  everything in one pass (bulk loads, repairs).
- places: the gazetteer (flask places import), searched by trigram similarity.
- traces.search now covers title, tags, description and sources, weighted; a trigram index on
  titles finds partial and misspelt words.
"""

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

revision = '20261201a1b2'
down_revision = '20261130c3d4'
branch_labels = None
depends_on = None

MAX_CELL_ZOOM = 11  # app.models.maps.MAX_CELL_ZOOM

CELL_FUNCTIONS = """
CREATE OR REPLACE FUNCTION heritage_cell_x(lon double precision, z integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT least(greatest(floor((lon + 180.0) / 360.0 * (4 << z))::integer, 0), (4 << z) - 1)
$$;
CREATE OR REPLACE FUNCTION heritage_cell_y(lat double precision, z integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT least(greatest(floor(
    (1.0 - ln(tan(radians(least(greatest(lat, -85.0511), 85.0511)))
              + 1.0 / cos(radians(least(greatest(lat, -85.0511), 85.0511)))) / pi()) / 2.0
    * (4 << z))::integer, 0), (4 << z) - 1)
$$;
CREATE OR REPLACE FUNCTION heritage_words(words text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(array_to_string(words, ' '), '') $$;
"""

# One side of a change: the approved rows of a transition table at their public point.
_SIDE = """
  SELECT {sign} AS sign, r.id,
         ST_X(CASE WHEN r.is_sensitive THEN r.public_geom ELSE ST_PointOnSurface(r.geom) END) AS x,
         ST_Y(CASE WHEN r.is_sensitive THEN r.public_geom ELSE ST_PointOnSurface(r.geom) END) AS y
    FROM {rows} r
   WHERE r.status = 'approved' AND (NOT r.is_sensitive OR r.public_geom IS NOT NULL)
"""

_APPLY = """
    INSERT INTO map_cells AS c (zoom, cx, cy, n, sum_x, sum_y, sum_id, updated_at)
    SELECT z, heritage_cell_x(p.x, z), heritage_cell_y(p.y, z),
           sum(p.sign), sum(p.sign * p.x), sum(p.sign * p.y), sum(p.sign * p.id), clock_timestamp()
      FROM ({rows}) AS p CROSS JOIN generate_series(0, %d) AS z
     GROUP BY 1, 2, 3
    HAVING sum(p.sign) <> 0 OR sum(p.sign * p.id) <> 0
     ORDER BY 1, 2, 3
    ON CONFLICT (zoom, cx, cy) DO UPDATE SET
      n = c.n + excluded.n,
      sum_x = CASE WHEN c.n + excluded.n = 0 THEN 0 ELSE c.sum_x + excluded.sum_x END,
      sum_y = CASE WHEN c.n + excluded.n = 0 THEN 0 ELSE c.sum_y + excluded.sum_y END,
      sum_id = c.sum_id + excluded.sum_id,
      updated_at = excluded.updated_at;
""" % MAX_CELL_ZOOM

# An UPDATE counts only rows whose public presence or point changed (a title edit, a touch of
# updated_at, a tag: no cell is written, no cell row is locked).
_CHANGED = """
  SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id
   WHERE (o.status = 'approved' OR n.status = 'approved')
     AND (o.status IS DISTINCT FROM n.status OR o.is_sensitive IS DISTINCT FROM n.is_sensitive
          OR NOT ST_Equals(o.geom, n.geom) OR o.public_geom IS DISTINCT FROM n.public_geom)
"""
_CHANGED_NEW = _CHANGED.replace("SELECT o.*", "SELECT n.*")

TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION heritage_map_cells_apply() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    %s
  ELSIF TG_OP = 'DELETE' THEN
    %s
  ELSIF TG_OP = 'UPDATE' THEN
    %s
  END IF;
  RETURN NULL;
END
$fn$
""" % (
    _APPLY.format(rows=_SIDE.format(sign=1, rows="new_rows")),
    _APPLY.format(rows=_SIDE.format(sign=-1, rows="old_rows")),
    _APPLY.format(
        rows=_SIDE.format(sign=-1, rows="(%s)" % _CHANGED)
        + " UNION ALL "
        + _SIDE.format(sign=1, rows="(%s)" % _CHANGED_NEW)
    ),
)

TRUNCATE_FUNCTION = """
CREATE OR REPLACE FUNCTION heritage_map_cells_clear() RETURNS trigger
LANGUAGE plpgsql AS $fn$ BEGIN DELETE FROM map_cells; RETURN NULL; END $fn$
"""

REBUILD_FUNCTION = """
CREATE OR REPLACE FUNCTION heritage_map_cells_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE written bigint;
BEGIN
  LOCK TABLE map_cells IN EXCLUSIVE MODE;
  DELETE FROM map_cells;
  INSERT INTO map_cells (zoom, cx, cy, n, sum_x, sum_y, sum_id, updated_at)
  SELECT z, heritage_cell_x(p.x, z), heritage_cell_y(p.y, z),
         count(*), sum(p.x), sum(p.y), sum(p.id), clock_timestamp()
    FROM (%s) AS p CROSS JOIN generate_series(0, %d) AS z
   GROUP BY 1, 2, 3;
  GET DIAGNOSTICS written = ROW_COUNT;
  RETURN written;
END
$fn$
""" % (_SIDE.format(sign=1, rows="traces"), MAX_CELL_ZOOM)

TRIGGERS = """
CREATE TRIGGER traces_map_cells_insert AFTER INSERT ON traces
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION heritage_map_cells_apply();
CREATE TRIGGER traces_map_cells_update AFTER UPDATE ON traces
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION heritage_map_cells_apply();
CREATE TRIGGER traces_map_cells_delete AFTER DELETE ON traces
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION heritage_map_cells_apply();
CREATE TRIGGER traces_map_cells_truncate AFTER TRUNCATE ON traces
  FOR EACH STATEMENT EXECUTE FUNCTION heritage_map_cells_clear();
"""

SEARCH_EXPRESSION = (
    "setweight(to_tsvector('norwegian'::regconfig, coalesce(title, '')), 'A')"
    " || setweight(to_tsvector('norwegian'::regconfig, heritage_words(tags)), 'B')"
    " || setweight(to_tsvector('norwegian'::regconfig,"
    " coalesce(description, '') || ' ' || coalesce(sources, '')), 'C')"
)
OLD_SEARCH_EXPRESSION = (
    "to_tsvector('norwegian'::regconfig, coalesce(title, '') || ' ' || coalesce(description, ''))"
)


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(CELL_FUNCTIONS)
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('map_cells',
    sa.Column('zoom', sa.SmallInteger(), nullable=False),
    sa.Column('cx', sa.Integer(), nullable=False),
    sa.Column('cy', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sum_x', sa.Float(), server_default='0', nullable=False),
    sa.Column('sum_y', sa.Float(), server_default='0', nullable=False),
    sa.Column('sum_id', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('zoom', 'cx', 'cy', name=op.f('pk_map_cells'))
    )
    op.create_geospatial_table('places',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=80), server_default='', nullable=False),
    sa.Column('municipality', sa.String(length=100), server_default='', nullable=False),
    sa.Column('county', sa.String(length=100), server_default='', nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('source', sa.String(length=40), server_default='ssr', nullable=False),
    sa.Column('source_id', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_places')),
    sa.UniqueConstraint('source', 'source_id', name='uq_places_source_id')
    )
    op.create_geospatial_index('idx_places_geom', 'places', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_places_name_trgm', 'places', ['name'], unique=False, postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
    op.create_index('ix_traces_title_trgm', 'traces', ['title'], unique=False, postgresql_using='gin', postgresql_ops={'title': 'gin_trgm_ops'})
    # ### end Alembic commands ###
    op.drop_index('ix_traces_search', table_name='traces')
    op.drop_column('traces', 'search')
    op.execute(
        f"ALTER TABLE traces ADD COLUMN search tsvector GENERATED ALWAYS AS ({SEARCH_EXPRESSION}) STORED"
    )
    op.create_index('ix_traces_search', 'traces', ['search'], postgresql_using='gin')
    for statement in (TRIGGER_FUNCTION, TRUNCATE_FUNCTION, REBUILD_FUNCTION, TRIGGERS):
        op.execute(statement)
    op.execute("SELECT heritage_map_cells_rebuild()")




def downgrade():
    for name in ('insert', 'update', 'delete', 'truncate'):
        op.execute(f"DROP TRIGGER IF EXISTS traces_map_cells_{name} ON traces")
    op.execute("DROP FUNCTION IF EXISTS heritage_map_cells_rebuild()")
    op.execute("DROP FUNCTION IF EXISTS heritage_map_cells_clear()")
    op.execute("DROP FUNCTION IF EXISTS heritage_map_cells_apply()")
    op.drop_index('ix_traces_search', table_name='traces')
    op.drop_column('traces', 'search')
    op.execute(
        f"ALTER TABLE traces ADD COLUMN search tsvector GENERATED ALWAYS AS ({OLD_SEARCH_EXPRESSION}) STORED"
    )
    op.create_index('ix_traces_search', 'traces', ['search'], postgresql_using='gin')
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index('ix_traces_title_trgm', table_name='traces', postgresql_using='gin', postgresql_ops={'title': 'gin_trgm_ops'})
    op.drop_index('ix_places_name_trgm', table_name='places', postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
    op.drop_geospatial_index('idx_places_geom', table_name='places', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('places')
    op.drop_table('map_cells')
    # ### end Alembic commands ###
    op.execute("DROP FUNCTION IF EXISTS heritage_words(text[])")
    op.execute("DROP FUNCTION IF EXISTS heritage_cell_y(double precision, integer)")
    op.execute("DROP FUNCTION IF EXISTS heritage_cell_x(double precision, integer)")
