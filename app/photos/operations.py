"""State changes of photos (flush, never commit).

Contract (owned by the photos backend work; traces, moderation and comments call these):

- ``PhotoSpec(id, caption, credit, licence, taken_on)``: what a form or the API says about an
  uploaded photo it attaches; ``parse_photo_specs(raw) -> list[PhotoSpec]`` reads the JSON list
  (form field ``photos`` / API ``properties.photos``) and raises ``ValidationFailed`` with
  field ``photos`` on anything wrong.
- ``stage_photo(uploader, data: bytes) -> StagedPhoto``: processes and stores an upload as a
  staged Photo (no trace yet); ``StagedPhoto.photo`` and ``.gps`` (``GpsFix | None``, only in
  the answer, never stored). Raises ``PhotoRefused`` (code, message) on a refused file or quota.
- ``attach_photos(trace, user, specs) -> list[Photo]``: staged photos of ``user`` become the
  trace's, pending (approved at once when ``user`` moderates the trace), positions after the
  existing ones; more than HERITAGE_PHOTOS_PER_TRACE raises ``ValidationFailed('photos')``.
  Does not record a revision itself: callers that change the trace already do.
- ``add_photos(trace, user, specs) -> list[Photo]``: photos added later to an existing trace;
  attaches them and records one revision ("photo added").
- ``remove_photo(photo, user) -> None``: deletes the row (the trigger queues its files) and
  records a revision when it was on a trace.
- ``decide_photo(photo, moderator, approve: bool, reason: str = "",
  public_when_protected: bool | None = None) -> None``.
- ``approve_with_trace(trace, moderator)``: pending photos that came with the trace are
  approved when the trace is (moderation calls this).
- ``remove_due_files(now=None) -> int``: deletes files of due media_garbage rows and staged
  uploads older than HERITAGE_MEDIA_STAGED_HOURS; returns how many photos' files went.
"""
