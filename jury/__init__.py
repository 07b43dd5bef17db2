"""Jury: a volunteer-jury content-moderation platform."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

import audit
from jury import cli, web
from jury.config import PROJECT_ROOT, load_config
from jury.extensions import babel, csrf, db, login_manager, migrate
from jury.jurors import users
from jury.pool_ping import ping_idle_connections
from jury.web import hardening, i18n
from triage import policy


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask application; does no I/O beyond reading configuration."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(load_config(Path(app.instance_path), test_config))
    # For code inside the app that builds a second one (the simulation's throwaway app) without
    # importing this factory, which would be a circle.
    app.extensions["app_factory"] = create_app
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_security(app)
    register_cli(app)
    return app


def register_logging(app: Flask) -> None:
    """Log at INFO to stderr; never log request bodies or secrets."""
    if not app.debug and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register_extensions(app: Flask) -> None:
    """Bind the unbound extension instances to this app, and the session listeners to SQLAlchemy."""
    db.init_app(app)
    audit.register_listeners()
    policy.register_listeners()
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            ping_idle_connections(db.engine, app.config["DB_PING_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PROJECT_ROOT / "translations"))
    babel.init_app(app, locale_selector=i18n.select_locale)
    from flask_babel import get_locale, refresh

    app.jinja_env.globals["get_locale"] = get_locale
    # The locale is cached on `g`, which outlives a request when an app context spans several
    # (tests, scripts): choose it afresh for every request.
    app.before_request(refresh)

    login_manager.user_loader(users.load_user)


def register_blueprints(app: Flask) -> None:
    """Mount the web blueprints (views only; the domain lives elsewhere)."""
    web.register(app)


def register_security(app: Flask) -> None:
    """Security headers, cookie flags, proxy trust and rate limits (after the blueprints it limits)."""
    hardening.register_security(app)


def register_cli(app: Flask) -> None:
    """Add the `flask` commands."""
    cli.register(app)
