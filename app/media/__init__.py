"""Stored photo files: re-encoding (imaging, no Flask) and where the files live (storage)."""
