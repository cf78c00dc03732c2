"""Merging a group of near-duplicates: keep one, the others become its observations."""

from __future__ import annotations

from app.moderation.routes import bp

__all__ = ["bp"]
