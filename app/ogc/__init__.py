"""OGC API - Features (Part 1: Core, GeoJSON, HTML, OpenAPI 3.0; Part 3: queryables) under /ogc.

One collection per project plus `traces` for every approved trace. The features are the ones
the exports deliver (app.publication.features), with the same location rule: generalised for the
public, precise for partner tokens scoped to the project and for the project's librarians.
"""

# The id of the collection holding every approved trace, whatever its project.
ALL_TRACES = "traces"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
