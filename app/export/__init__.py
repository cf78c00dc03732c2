"""Data for museums and archives: GeoJSON/CSV exports built inside PostgreSQL."""
