"""Pure geospatial core: parsing, validation, encoding, coordinate systems and map builders.

Nothing here imports Flask or a database session, so every function can be called from a view,
a CLI command, a test or a notebook.
"""
