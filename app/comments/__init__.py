"""comments feature package."""
