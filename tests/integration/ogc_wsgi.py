"""The app for gunicorn in the GDAL test, with the OGC blueprint even before create_app has it."""

from app import create_app
from app.ogc.routes import bp

app = create_app()
if "ogc" not in app.blueprints:
    app.register_blueprint(bp)
