"""Web hardening in one place: security headers and CSP, cookie flags, proxies, rate limits, inert text.

create_app calls register_security(app) once; nothing here knows about cases or votes.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from flask import Flask, Response, abort, jsonify, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_talisman import Talisman
from markupsafe import Markup
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from jury.web.display import reveal_hidden_controls
from jury.web.errors import error_page, wants_api_error

# No inline script or style anywhere: every page's JS and CSS are files under static/.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:"],
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Jury needs none of these browser features; denying them limits what an injected page could do.
PERMISSIONS_POLICY = {feature: "()" for feature in (
    "camera", "microphone", "geolocation", "payment", "usb", "browsing-topics", "interest-cohort")}
HSTS_MAX_AGE = 365 * 24 * 3600
# Paths whose last part is a bearer secret: an appeal link, a juror invitation.
SECRET_PATHS = re.compile(r"(/(?:appeal|join)/)[^\s/?\"]+")
# The loggers that write request lines: Werkzeug's (the demo), gunicorn's access and error logs.
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def register_security(app: Flask) -> None:
    """Install headers, cookie flags, proxy trust, rate limits and the template text guard on `app`."""
    _trust_proxies(app)
    _headers(app)
    _cookies(app)
    limiter = _rate_limits(app)
    app.extensions["jury_limiter"] = limiter
    app.register_error_handler(TooManyRequests, _too_many_requests)
    app.before_request(_refuse_nul_in_forms)
    app.after_request(_no_store_private)
    # Every {{ value }} in every template passes here before autoescaping (see jury/web/display.py).
    app.jinja_env.finalize = _finalize
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactSecretPaths) for existing in logger.filters):
            logger.addFilter(RedactSecretPaths())


class RedactSecretPaths(logging.Filter):
    """Keep appeal and invitation tokens out of access logs: whoever reads the log must not be able to
    appeal for an author or join as a juror. The path stays, its secret part becomes [redacted]."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message and arguments in place; never drops a record."""
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {key: _redact(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact(value) for value in record.args)
        return True


def _redact(value):
    return SECRET_PATHS.sub(r"\1[redacted]", value) if isinstance(value, str) else value


def _trust_proxies(app: Flask) -> None:
    """Read the client address and scheme from the proxy headers only when proxies are configured.

    Without this, every request behind a reverse proxy shares the proxy's IP and one rate limit;
    with it unconditionally, any client could pick its own IP with a forged X-Forwarded-For.
    """
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def _headers(app: Flask) -> None:
    """CSP, framing, sniffing, referrer and permissions headers on every response; HSTS over HTTPS."""
    Talisman(
        app,
        # TLS is the proxy's job; redirecting here would break the plain-HTTP local demo.
        force_https=False,
        strict_transport_security=True,  # Talisman sends it only on HTTPS requests
        strict_transport_security_max_age=HSTS_MAX_AGE,
        strict_transport_security_include_subdomains=False,  # Jury may share a parent domain it does not own
        content_security_policy=CONTENT_SECURITY_POLICY,
        permissions_policy=PERMISSIONS_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
        x_xss_protection=False,  # obsolete header, and harmful in old browsers; the CSP does this job
        # Cookie flags come from the configuration (see _cookies), not from Talisman.
        session_cookie_secure=False,
        session_cookie_http_only=True,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
    )


def _cookies(app: Flask) -> None:
    """The remember-me cookie, if ever used, gets the session cookie's flags."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", app.config["SESSION_COOKIE_SAMESITE"])
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config.get("SESSION_COOKIE_SECURE", True))


def _rate_limits(app: Flask) -> Limiter:
    """POST /login and the sandbox's report form per client IP, and a high ceiling on the intake API;
    counters in Redis when configured."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "jury-limits")
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        # A Redis that hangs must not hang logins: give up quickly and fall back to memory.
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1})
    limiter = Limiter(
        key_func=get_remote_address,
        # A Redis outage must not take logins or intake down: count in memory until it returns.
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )
    limiter.init_app(app)
    login = app.view_functions["auth.login"]
    app.view_functions["auth.login"] = limiter.limit(app.config.get("LOGIN_RATE_LIMIT", "10/minute"),
                                                     methods=["POST"])(login)
    limiter.limit(app.config.get("API_RATE_LIMIT", "300/second"))(app.blueprints["api"])
    report = app.view_functions.get("sandbox.report")
    if report is not None:
        # Each sandbox report reaches Jury's queue: one visitor must not be able to flood it.
        app.view_functions["sandbox.report"] = limiter.limit(
            app.config.get("SANDBOX_REPORT_RATE_LIMIT", "10/minute"), methods=["POST"])(report)
    return limiter


def _refuse_nul_in_forms():
    """400 for a NUL in any form field or query value: never typed by a person, and PostgreSQL cannot store it.

    The API's JSON is validated field by field instead (and never parsed here: it has its own size cap).
    """
    if request.blueprint == "api":
        return None
    values = list(request.args.items(multi=True))
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += list(request.form.items(multi=True))
    if any("\x00" in key or "\x00" in value for key, value in values):
        abort(400)
    return None


# Pages reached through a secret link: the link is the key, so no cache may keep the page.
SECRET_LINK_PREFIXES = ("/appeal/", "/join/")


def _no_store_private(response: Response) -> Response:
    """`Cache-Control: no-store` on every response to a signed-in user, every download and secret-link page.

    A shared or back-button cache must never hand a juror's case, a lead's console or an export to
    the next person at the keyboard. Static files are the same for everyone and stay cacheable.
    Signed in means Flask-Login's mark in the session (no database read here; a stale mark errs on
    the safe side).
    """
    private = (request.endpoint != "static" and "_user_id" in session) \
        or request.path.startswith(SECRET_LINK_PREFIXES) \
        or response.headers.get("Content-Disposition", "").startswith("attachment")
    if private:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"  # HTTP/1.0 caches
    return response


def _too_many_requests(error: TooManyRequests):
    """429 as JSON for the API (saying which limit), as the app's page for people."""
    if wants_api_error():
        return jsonify({"error": f"Too many requests ({error.description}). Try again later."}), 429
    return error_page(429)


def _finalize(value):
    """Template output hook: user text gets its invisible bidi and zero-width controls made visible."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return reveal_hidden_controls(value)
    return value
