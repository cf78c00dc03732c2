"""The installation's statements and orientation: privacy, accessibility, about pages."""
