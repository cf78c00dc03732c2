"""Photos of traces: upload, attach, moderate, serve, remove (docs/photos.md)."""
