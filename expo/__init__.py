"""Cloud Expo: online exhibitions with curated pavilions of booth media."""
import logging
import os
from pathlib import Path

from flask import Flask, g, request

ROOT = Path(__file__).resolve().parent.parent


def choose_locale(cookie, accept_languages):
    """Pick the interface language: the visitor's cookie, else Accept-Language (parsed), else Chinese."""
    if cookie in ("zh_CN", "en"):
        return cookie
    best = accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN")
    return "en" if best == "en" else "zh_CN"


def _locale():
    return choose_locale(request.cookies.get("lang"), request.accept_languages)


def _config():
    import config

    return config.ProductionConfig() if os.environ.get("EXPO_ENV") == "production" else config.Config()


def create_app(settings=None):
    """Build the Flask app: extensions, blueprints, security headers, error pages, CLI."""
    from expo import caching, cli, errors, jobs, security
    from expo.extensions import babel, bind_lock_timeout, csrf, db, login_manager, migrate

    app = Flask(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    app.config.from_object(settings or _config())
    logging.basicConfig(level=app.config["EXPO_LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db.init_app(app)
    with app.app_context():
        bind_lock_timeout(app)
    # The search index (pavilions/search.py) is made by its migration, not the models: autogenerate leaves it be.
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True,
                     include_name=lambda name, type_, _parents: not (type_ == "table"
                                                                    and name.startswith("pavilion_search")))
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

        lang = g.get("lang", "zh_CN")
        return {"actor": current_actor(), "allowed": allowed, "lang": lang,
                "html_lang": "en" if lang == "en" else "zh-CN"}

    @app.before_request
    def _lang():
        g.lang = _locale()

    caching.install(app, choose_locale)
    if app.config.get("EXPO_TRUSTED_PROXIES"):
        # Behind N proxies (a CDN, a load balancer) the visitor's address is in X-Forwarded-For: rate limits and
        # counters then see visitors, not the proxy. Never on by default: a direct client could forge the header.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["EXPO_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)
    return app


def _register_blueprints(app, csrf):
    """Register every package's blueprints; API blueprints use tokens, not CSRF."""
    import media.models  # noqa: F401 - tables for Alembic and the mappers
    import pavilions.models  # noqa: F401
    from expo import admin, auth, i18n
    from media import views as media_views
    from pavilions import api as pavilion_api
    from pavilions import uploads_views, views_review, views_studio, views_tour

    for blueprint in (auth.bp, admin.bp, i18n.bp, media_views.bp, views_tour.bp, views_studio.bp, views_review.bp,
                      uploads_views.web):
        app.register_blueprint(blueprint)
    import importlib

    from pavilions import programme

    parts = [importlib.import_module(f"pavilions.programme.{name}") for name in programme.MODULES]
    for part in parts:
        app.register_blueprint(part.bp)
    for blueprint in (auth.api, media_views.api, pavilion_api.api, uploads_views.api, *(p.api for p in parts)):
        csrf.exempt(blueprint)
        # On the app, keyed by blueprint, so that create_app can build a second app (the API fuzz test does).
        app.before_request_funcs.setdefault(blueprint.name, []).append(auth.load_bearer)
        app.register_blueprint(blueprint)
    # These read their body as a stream and check the CSRF token themselves: the global check would spool it to disk.
    csrf.exempt("pavilions.views_studio.upload")
    csrf.exempt("pavilions.uploads_views.web_whole")
    from expo import openapi
    from pavilions import embeds, freshness, render

    app.add_template_global(render.h5_frame_sandbox, "h5_frame_sandbox")
    app.add_template_global(render.localized, "localized")
    app.extensions["expo_embed_hosts"] = embeds.allowed_hosts
    app.extensions["expo_cached_pages"] = freshness.CACHED_PAGES
    app.extensions["expo_page_generation"] = freshness.generation
    csrf.exempt(openapi.bp)
    app.register_blueprint(openapi.bp)
