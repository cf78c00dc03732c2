"""projects feature package."""
