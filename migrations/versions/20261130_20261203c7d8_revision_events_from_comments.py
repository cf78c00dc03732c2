"""revision events from the comments the application used to write

Revisions now keep what the system did as an event (a kind with parameters, rendered in each
reader's language by app/events.py) and in ``comment`` only what a person typed. Rows written
before carry the system's English text in ``comment``; this turns exactly the strings the old
history page recognised into events and empties their comment:

- "submitted", "demo data" (first revision), "imported from F[; <generalised text>]" (first
  revision);
- "<action>" or "<action>: <reason>" when the revision changed the status (an edit never does,
  so an edit comment that merely begins like a decision stays a comment); a rejection whose
  reason names the trace it duplicates, "(#<id>).", becomes a merge into that trace;
- "sensitivity: rules|sensitive|open", "Reverted to version N", "photo added", "photos added",
  "photo changed", "photo removed".

Notifications are left as they are: stored before kinds had parameters (params {}), they are
shown with their stored message (app/events.notification_line).

Downgrade writes the old strings back into ``comment`` for revisions with an event and no
typed comment, so the previous code (which reads only ``comment``) shows them as before.
Notifications written since carry no message and show empty there (their kind, trace and date
remain): their text exists only per reader's language, which SQL cannot render.

Revision ID: 20261203c7d8
Revises: 20261203e5f6
Create Date: 2026-11-30 14:00:00
"""

from alembic import op

revision = "20261203c7d8"
down_revision = "20261203e5f6"
branch_labels = None
depends_on = None

# What app/imports/operations.py appended to "imported from F" for a generalised position.
GENERALISED = (
    "the source gave a generalised position (location: generalised), not the exact one: "
    "imported as protected, the stored position is only approximate"
)

UPGRADE_SQL = """
WITH r AS (
  SELECT rev.id, rev.comment,
         rev.snapshot->>'status' AS status,
         lag(rev.snapshot->>'status') OVER w AS prev_status,
         jsonb_array_length(CASE WHEN jsonb_typeof(rev.snapshot->'photos') = 'array'
                                 THEN rev.snapshot->'photos' ELSE '[]'::jsonb END) AS photos,
         lag(jsonb_array_length(CASE WHEN jsonb_typeof(rev.snapshot->'photos') = 'array'
                                     THEN rev.snapshot->'photos' ELSE '[]'::jsonb END)) OVER w
           AS prev_photos,
         rev.version = min(rev.version) OVER (PARTITION BY rev.trace_id) AS first,
         rev.event,
         t.duplicate_of_id, o.title AS original_title
  FROM revisions rev
  JOIN traces t ON t.id = rev.trace_id
  LEFT JOIN traces o ON o.id = t.duplicate_of_id
  WINDOW w AS (PARTITION BY rev.trace_id ORDER BY rev.version)
), decided AS (
  SELECT r.*,
         substring(r.comment from '^([a-z_]+)') AS action,
         coalesce(btrim(substring(r.comment from '^[a-z_]+: (.*)$'), E' \\t\\r\\n'), '')
           AS message
  FROM r
), converted AS (
  SELECT id, CASE
    WHEN comment = 'submitted' THEN jsonb_build_object('kind', 'submitted')
    WHEN comment = 'demo data' AND first THEN jsonb_build_object('kind', 'demo')
    WHEN comment = 'photo added' THEN jsonb_build_object('kind', 'photos_added', 'count', 1)
    WHEN comment = 'photos added' THEN jsonb_build_object(
      'kind', 'photos_added', 'count', greatest(2, photos - coalesce(prev_photos, 0)))
    WHEN comment = 'photo changed' THEN jsonb_build_object('kind', 'photo_changed')
    WHEN comment = 'photo removed' THEN jsonb_build_object('kind', 'photo_removed')
    WHEN comment ~ '^Reverted to version [0-9]{1,9}$' THEN jsonb_build_object(
      'kind', 'revert', 'to', substring(comment from '([0-9]+)$')::integer)
    WHEN comment ~ '^sensitivity: (rules|sensitive|open)$' THEN jsonb_build_object(
      'kind', 'sensitivity', 'choice', substring(comment from '^sensitivity: (.*)$'))
    WHEN first AND comment LIKE 'imported from %' THEN
      CASE WHEN right(comment, length(:generalised) + 2) = '; ' || :generalised
        THEN jsonb_build_object(
          'kind', 'imported', 'generalised', true,
          'file', substr(comment, 15, length(comment) - 14 - length(:generalised) - 2))
        ELSE jsonb_build_object(
          'kind', 'imported', 'generalised', false, 'file', substr(comment, 15))
      END
    WHEN comment ~ '^(approve|reject|request_changes|resubmit|withdraw|delete|restore)(: .*)?$'
         AND prev_status IS NOT NULL AND prev_status <> status THEN
      CASE WHEN action = 'reject' AND duplicate_of_id IS NOT NULL
                AND message ~ ('\\(#' || duplicate_of_id || '\\)\\.?$')
        THEN jsonb_build_object(
          'kind', 'merged', 'into', duplicate_of_id, 'title', coalesce(original_title, ''))
        ELSE jsonb_build_object('kind', 'decision', 'action', action, 'message', message)
      END
  END AS event
  FROM decided
  WHERE event IS NULL AND comment <> ''
)
UPDATE revisions SET event = converted.event, comment = ''
FROM converted
WHERE revisions.id = converted.id AND converted.event IS NOT NULL
"""

DOWNGRADE_SQL = """
UPDATE revisions SET comment = CASE event->>'kind'
    WHEN 'submitted' THEN 'submitted'
    WHEN 'demo' THEN 'demo data'
    WHEN 'decision' THEN
      btrim(coalesce(event->>'action', '') || ': ' || coalesce(event->>'message', ''), ': ')
    WHEN 'merged' THEN
      'reject: Duplicate of “' || coalesce(event->>'title', '') || '” (#'
        || coalesce(event->>'into', '') || ').'
    WHEN 'sensitivity' THEN 'sensitivity: ' || coalesce(event->>'choice', '')
    WHEN 'revert' THEN 'Reverted to version ' || coalesce(event->>'to', '')
    WHEN 'photos_added' THEN
      CASE WHEN event->>'count' = '1' THEN 'photo added' ELSE 'photos added' END
    WHEN 'photo_changed' THEN 'photo changed'
    WHEN 'photo_removed' THEN 'photo removed'
    WHEN 'imported' THEN 'imported from ' || coalesce(event->>'file', '')
      || CASE WHEN event->>'generalised' = 'true' THEN '; ' || :generalised ELSE '' END
    ELSE comment
  END
WHERE event IS NOT NULL AND comment = ''
"""


def upgrade():
    op.execute(_bound(UPGRADE_SQL))


def downgrade():
    op.execute(_bound(DOWNGRADE_SQL))


def _bound(sql: str):
    import sqlalchemy as sa

    return sa.text(sql).bindparams(generalised=GENERALISED)
