"""me feature package."""
