"""Moved: editing and reverting traces live in app.traces.edit_operations.

Only these names stay importable from here, for the two callers outside this package that
still name the old place (app/imports/candidates.py, tests/integration/test_harvest_mirror.py);
delete this module once they import from app.traces.edit_operations.
"""

from __future__ import annotations

from app.traces.edit_operations import normalise_tags, update_trace

__all__ = ["normalise_tags", "update_trace"]
