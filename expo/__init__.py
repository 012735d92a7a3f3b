"""Cloud Expo: online exhibitions with curated pavilions of booth media."""
import logging
import os
from pathlib import Path

from flask import Flask, g, request

ROOT = Path(__file__).resolve().parent.parent


def _locale():
    """Pick the interface language: the visitor's cookie, else Accept-Language, else Chinese."""
    chosen = request.cookies.get("lang")
    if chosen in ("zh_CN", "en"):
        return chosen
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN")
    return "en" if best == "en" else "zh_CN"


def _config():
    import config

    return config.ProductionConfig() if os.environ.get("EXPO_ENV") == "production" else config.Config()


def create_app(settings=None):
    """Build the Flask app: extensions, blueprints, security headers, error pages, CLI."""
    from expo import cli, errors, jobs, security
    from expo.extensions import babel, csrf, db, login_manager, migrate

    app = Flask(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    app.config.from_object(settings or _config())
    logging.basicConfig(level=app.config["EXPO_LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_locale, default_translation_directories=str(ROOT / "translations"))
    jobs.celery_init_app(app)
    _register_blueprints(app, csrf)
    errors.register_error_handlers(app)
    security.install(app)
    cli.register(app)

    @app.context_processor
    def _globals():
        from expo.permissions import allowed, current_actor

        return {"actor": current_actor(), "allowed": allowed, "lang": g.get("lang", "zh_CN")}

    @app.before_request
    def _lang():
        g.lang = _locale()

    return app


def _register_blueprints(app, csrf):
    """Register every package's blueprints; API blueprints use tokens, not CSRF."""
    import media.models  # noqa: F401 - tables for Alembic and the mappers
    import pavilions.models  # noqa: F401
    from expo import admin, auth
    from media import views as media_views
    from pavilions import api as pavilion_api
    from pavilions import uploads_views, views_review, views_studio, views_tour

    for blueprint in (auth.bp, admin.bp, media_views.bp, views_tour.bp, views_studio.bp, views_review.bp,
                      uploads_views.web):
        app.register_blueprint(blueprint)
    for blueprint in (auth.api, media_views.api, pavilion_api.api, uploads_views.api):
        csrf.exempt(blueprint)
        blueprint.before_request(auth.load_bearer)
        app.register_blueprint(blueprint)
    # These read their body as a stream and check the CSRF token themselves: the global check would spool it to disk.
    csrf.exempt("pavilions.views_studio.upload")
    csrf.exempt("pavilions.uploads_views.web_whole")
    from expo import openapi
    from pavilions import embeds

    app.extensions["expo_embed_hosts"] = embeds.allowed_hosts
    csrf.exempt(openapi.bp)
    app.register_blueprint(openapi.bp)
