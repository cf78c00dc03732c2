"""moderation feature package."""
