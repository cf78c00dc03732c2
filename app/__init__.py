"""The heritage traces application: create_app() builds one, nothing exists at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config as config_module
from app.hosts import HeritageFlask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Application factory: config -> extensions -> blueprints -> error pages -> CLI."""
    app = HeritageFlask(
        __name__,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(config_module.load(Path(app.instance_path), config))
    app.config.setdefault("MIGRATIONS_DIR", ROOT / "migrations")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "translations"))
    if app.config["PROXY_HOPS"]:
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from app import extensions

    extensions.init_app(app)

    from app import models  # noqa: F401 - registers the mappers before first use
    from app.about import routes as about_routes
    from app.auth import routes as auth_routes
    from app.auth.sessions import init_login
    from app.comments import routes as comments_routes
    from app.export import routes as export_routes
    from app.imports import routes as imports_routes
    from app.main import routes as main_routes
    from app.me import account_routes  # noqa: F401 - its routes join me.bp
    from app.me import routes as me_routes
    from app.moderation import merge_routes  # noqa: F401 - its routes join moderation.bp
    from app.moderation import routes as moderation_routes
    from app.offline import routes as offline_routes
    from app.ogc import routes as ogc_routes
    from app.photos import routes as photos_routes
    from app.projects import routes as projects_routes
    from app.publication import routes as publication_routes
    from app.revisions import routes as revisions_routes
    from app.search import routes as search_routes
    from app.traces import api as traces_api
    from app.traces import routes as traces_routes
    from app.traces import where as where_routes
    from app.vocab import routes as vocab_routes

    init_login(app)
    from app import params, validation

    params.init_app(app)  # before the blueprints: their `<int:...>` rules use its converter
    validation.init_app(app)
    for blueprint in (
        main_routes.bp,
        auth_routes.bp,
        traces_routes.bp,
        traces_api.bp,
        projects_routes.bp,
        moderation_routes.bp,
        revisions_routes.bp,
        comments_routes.bp,
        me_routes.bp,
        vocab_routes.bp,
        ogc_routes.bp,
        export_routes.bp,
        publication_routes.bp,
        imports_routes.bp,
        search_routes.bp,
        where_routes.bp,
        photos_routes.bp,
        offline_routes.bp,
        about_routes.bp,
    ):
        app.register_blueprint(blueprint)

    from app import cli, errors, observability, web

    web.init_app(app)
    observability.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    return app
