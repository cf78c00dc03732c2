"""vocab feature package."""
