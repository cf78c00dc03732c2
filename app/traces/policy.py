"""Kept for the traces package's imports; the policy itself lives in app.access."""

from app.access import can_view, viewer_of, visible_traces

__all__ = ["can_view", "viewer_of", "visible_traces"]
