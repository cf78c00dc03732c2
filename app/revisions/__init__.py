"""revisions feature package."""
