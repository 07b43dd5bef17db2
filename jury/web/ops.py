"""Operations endpoints: /healthz, /metrics, and the RQ dashboard under the lead console."""
from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, redirect, request, url_for
from flask_login import current_user

from jury.extensions import csrf
from jury.web import prometheus

bp = Blueprint("ops", __name__)
RQ_PREFIX = "/lead/rq"
# rq-dashboard's pages carry inline scripts and styles; only its pages get this looser policy.
RQ_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
          "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


@bp.get("/healthz")
def healthz():
    """Readiness: 200 when the database and Redis (if configured) answer, else 503; JSON either way."""
    healthy, checks = prometheus.check_health()
    return jsonify({"status": "ok" if healthy else "unavailable", **checks}), 200 if healthy else 503


@bp.get("/metrics")
def prometheus_metrics():
    """Prometheus text format; behind a bearer token when METRICS_TOKEN is set, else to loopback clients only."""
    token = prometheus.metrics_token()
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response("unauthorised\n", 401, {"WWW-Authenticate": "Bearer"})
    elif not _from_loopback():
        return Response("metrics are served to loopback clients only; set METRICS_TOKEN to scrape from elsewhere\n",
                        403, mimetype="text/plain")
    return Response(prometheus.exposition(), mimetype="text/plain; version=0.0.4; charset=utf-8")


# Headers a reverse proxy adds: with them and no TRUSTED_PROXIES, the loopback peer is the proxy, not the client.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def _from_loopback() -> bool:
    """Whether the client is this machine (the address ProxyFix gives when proxies are trusted)."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    if not (address.is_loopback or (mapped is not None and mapped.is_loopback)):
        return False
    forwarded = any(header in request.headers for header in FORWARDING_HEADERS)
    return not forwarded or bool(current_app.config.get("TRUSTED_PROXIES"))


def mount_rq_dashboard(app: Flask) -> bool:
    """Serve rq-dashboard at /lead/rq for leads when Redis is configured; False when it is not."""
    if not app.config.get("REDIS_URL"):
        return False
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 5000)
    setup_rq_connection(app)
    # Its AJAX POSTs carry no CSRF token; a same-origin check below guards them instead.
    csrf.exempt(rq_dashboard.blueprint)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=RQ_PREFIX)

    @app.before_request
    def _rq_dashboard_guard():
        if request.blueprint != "rq_dashboard":
            return None
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not current_user.is_lead:
            abort(403)
        # "requeue all" answers GET too: only same-origin requests change anything.
        changes = request.method != "GET" or "/requeue/" in request.path
        if changes and not _same_origin():
            abort(403)
        return None

    @app.after_request
    def _rq_dashboard_csp(response):
        if request.blueprint == "rq_dashboard":
            response.headers["Content-Security-Policy"] = RQ_CSP
        return response

    return True


def _same_origin() -> bool:
    """Whether the Origin (or Referer) header names this host."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return bool(source) and urlsplit(source).netloc == request.host


def rq_dashboard_mounted() -> bool:
    """Whether /lead/rq is served."""
    return "rq_dashboard" in current_app.blueprints
