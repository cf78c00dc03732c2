-- Every benchmark trace in one INSERT ... SELECT (tests/bench/dataset.py fills in the @MARKERS@).
-- Each row draws its random numbers once (draws), is placed (placed), then shaped and worded.
-- Projects 1-6 are the towns' (dense clusters), project 7 ("norge") the traces spread out.
-- Project k's librarian is user k + 1; authors are residents 29-300.
WITH towns(k, x, y) AS (VALUES @TOWNS@),
regions(lo, hi, west, south, east, north) AS (VALUES @REGIONS@),
vocab AS (
  SELECT
    array_agg(id ORDER BY id) FILTER (WHERE scheme = 'trace_type') AS types_all,
    array_agg(id ORDER BY id) FILTER (WHERE scheme = 'trace_type' AND NOT sensitive) AS types_open,
    array_agg(id ORDER BY id) FILTER (WHERE scheme = 'period') AS periods_all,
    array_agg(id ORDER BY id) FILTER (WHERE scheme = 'period' AND NOT sensitive) AS periods_open,
    array_agg(id ORDER BY id) FILTER (WHERE scheme = 'condition') AS conditions,
    array_agg(id ORDER BY id) FILTER (WHERE scheme = 'dating_method') AS datings
  FROM terms WHERE is_active
),
draws AS MATERIALIZED (
  SELECT g, random() AS r_place, random() AS r_core, 1 - random() AS u1, random() AS u2,
         random() AS r_kind, random() AS r_nv, random() AS r_angle, random() AS r_size,
         random() AS r_status, random() AS r_sens, random() AS r_age, random() AS r_decide,
         random() AS r_len, random() AS r_t1, random() AS r_t2, random() AS r_t3,
         random() AS r_t4, random() AS r_author, floor(random() * 4)::int AS ntags,
         1 + floor(random() * 100000)::int AS ph0, 1 + floor(random() * 100000)::int AS ph1,
         1 + floor(random() * 100000)::int AS ph2, 1 + floor(random() * 100000)::int AS ph3,
         1 + floor(random() * 100000)::int AS ph4, 1 + floor(random() * 100000)::int AS ph5,
         1 + floor(random() * 100000)::int AS ph6
  FROM generate_series(1, @N@) g
),
placed AS MATERIALIZED (
  SELECT d.*,
         CASE WHEN d.r_place < 0.6 THEN 1 + floor(d.r_place / 0.1)::int ELSE 7 END AS project_id,
         CASE WHEN d.r_place < 0.6
              THEN t.x + (CASE WHEN d.r_core < 0.3 THEN 0.03 ELSE 0.12 END)
                         * sqrt(-2 * ln(d.u1)) * cos(2 * pi() * d.u2) / cos(radians(t.y))
              ELSE rg.west + (rg.east - rg.west) * d.r_core END AS x,
         CASE WHEN d.r_place < 0.6
              THEN t.y + (CASE WHEN d.r_core < 0.3 THEN 0.03 ELSE 0.12 END)
                         * sqrt(-2 * ln(d.u1)) * sin(2 * pi() * d.u2)
              ELSE rg.south + (rg.north - rg.south) * d.u2 END AS y,
         CASE WHEN d.r_status < 0.80 THEN 'approved' WHEN d.r_status < 0.95 THEN 'pending'
              ELSE 'rejected' END AS status,
         d.r_sens < 0.05 AS sensitive,
         now() - d.r_age * interval '1500 days' AS created
  FROM draws d
  LEFT JOIN towns t ON d.r_place < 0.6 AND t.k = 1 + floor(d.r_place / 0.1)::int
  LEFT JOIN regions rg ON d.r_place >= 0.6
       AND (d.r_place - 0.6) / 0.4 >= rg.lo AND (d.r_place - 0.6) / 0.4 < rg.hi
)
INSERT INTO traces (
  project_id, author_id, title, description, geom, trace_type_id, period_id, condition_id,
  dating_method_id, sources, licence, status, sensitivity_override, version, created_at,
  updated_at, submitted_at, approved_by_id, approved_at, decided_by_id, decided_at,
  decision_note, tags)
SELECT
  p.project_id,
  29 + floor(p.r_author * 272)::int,
  initcap(split_part(p0.p, ' ', 1)) || ' ' || split_part(p0.p, ' ', 2) || ' '
    || split_part(p0.p, ' ', 3),
  upper(left(p1.p, 1))
    || rtrim(substr(left(concat_ws(' ', p1.p, p2.p, p3.p, p4.p, p5.p, p6.p),
                         100 + floor(p.r_len * 700)::int), 2)) || '.',
  CASE
    WHEN p.r_kind < 0.7 THEN ST_SetSRID(ST_MakePoint(p.x, p.y), 4326)
    WHEN p.r_kind < 0.9 THEN (
      SELECT ST_SetSRID(ST_MakeLine(array_agg(ST_MakePoint(
               p.x + i * 0.0006 * cos(2 * pi() * p.r_angle) / cos(radians(p.y))
                   + (random() - 0.5) * 0.0003,
               p.y + i * 0.0006 * sin(2 * pi() * p.r_angle) + (random() - 0.5) * 0.0003)
             ORDER BY i)), 4326)
      FROM generate_series(0, 2 + floor(p.r_nv * 18)::int) i)
    ELSE ST_SetSRID(ST_Buffer(ST_MakePoint(p.x, p.y), 0.0002 + p.r_size * 0.0008, 'quad_segs=2'),
                    4326)
  END,
  CASE WHEN p.sensitive
       THEN v.types_all[1 + floor(p.r_t1 * cardinality(v.types_all))::int]
       ELSE v.types_open[1 + floor(p.r_t1 * cardinality(v.types_open))::int] END,
  CASE WHEN p.sensitive
       THEN v.periods_all[1 + floor(p.r_t2 * cardinality(v.periods_all))::int]
       ELSE v.periods_open[1 + floor(p.r_t2 * cardinality(v.periods_open))::int] END,
  CASE WHEN p.r_t3 < 0.5 THEN v.conditions[1 + floor(p.r_t3 * 2 * cardinality(v.conditions))::int] END,
  CASE WHEN p.r_t4 < 0.5 THEN v.datings[1 + floor(p.r_t4 * 2 * cardinality(v.datings))::int] END,
  '',
  'CC-BY-4.0',
  p.status::trace_status,
  CASE WHEN p.sensitive THEN true END,
  1,
  p.created,
  p.created + CASE WHEN p.status <> 'pending' THEN p.r_decide * interval '20 days'
                   ELSE interval '0' END,
  p.created,
  CASE WHEN p.status = 'approved' THEN p.project_id + 1 END,
  CASE WHEN p.status = 'approved' THEN p.created + p.r_decide * interval '20 days' END,
  CASE WHEN p.status <> 'pending' THEN p.project_id + 1 END,
  CASE WHEN p.status <> 'pending' THEN p.created + p.r_decide * interval '20 days' END,
  CASE WHEN p.status = 'rejected' THEN 'Avvist: ' || split_part(p6.p, ' ', 1) ELSE '' END,
  coalesce((SELECT array_agg((@TAGS@)[1 + floor(random() * @NTAGS@)::int])
            FROM generate_series(1, p.ntags)), '{}')
FROM placed p
CROSS JOIN vocab v
JOIN bench_phrases p0 ON p0.i = p.ph0
JOIN bench_phrases p1 ON p1.i = p.ph1
JOIN bench_phrases p2 ON p2.i = p.ph2
JOIN bench_phrases p3 ON p3.i = p.ph3
JOIN bench_phrases p4 ON p4.i = p.ph4
JOIN bench_phrases p5 ON p5.i = p.ph5
JOIN bench_phrases p6 ON p6.i = p.ph6
