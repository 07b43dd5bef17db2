"""One configuration object, read from the environment (and `.env` when present)."""
from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NETWORK_ADAPTERS = ("sandbox", "webhook", "mastodon")
SCORERS = ("sklearn", "encoder", "cascade", "detoxify", "ensemble")


class ConfigError(RuntimeError):
    """A setting is missing or has a value Jury cannot use."""


def _instance_secret(instance_path: Path, name: str) -> str:
    """Return a random secret kept in the instance folder, creating it on first use.

    The embedded default must start with no set-up, yet sessions and signatures
    must survive a restart, so a generated secret is persisted next to the database.
    """
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / f"{name}.secret"
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_hex(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _cookie_secure(explicit: Any, public_url: str, testing: bool) -> bool:
    """Cookies are Secure unless told otherwise, tested, or served by the plain-HTTP local demo.

    A browser drops Secure cookies over http://, so the loopback demo could not log in with them;
    anywhere else Jury is expected behind HTTPS.
    """
    if explicit not in (None, ""):
        return str(explicit).lower() == "true"
    host = urlsplit(public_url).hostname or ""
    local_http = public_url.startswith("http://") and host in ("127.0.0.1", "localhost", "::1")
    return not (testing or local_http)


# The coalesced scoring job's queued mark lives 30 s (triage.jobs.defer_coalesced): a job
# lingering longer would let a second one start beside it.
MAX_LINGER_SECONDS = 10.0


def _linger_seconds(value: Any) -> float:
    """SCORING_LINGER_SECONDS as a number of seconds between 0 and MAX_LINGER_SECONDS."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"SCORING_LINGER_SECONDS={value!r} is not a number of seconds") from None
    if not 0 <= seconds <= MAX_LINGER_SECONDS:
        raise ConfigError(f"SCORING_LINGER_SECONDS={value!r} must be between 0 and {MAX_LINGER_SECONDS:g}")
    return seconds


def _minutes(name: str, value: Any) -> float:
    """A setting given in minutes, zero or more."""
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not a number of minutes") from None
    if not minutes >= 0:  # also rejects NaN
        raise ConfigError(f"{name}={value!r} must be 0 or more minutes")
    return minutes


def _hours(name: str, value: Any) -> float:
    """A positive number of hours."""
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not a number of hours") from None
    if not hours > 0 or hours == float("inf"):
        raise ConfigError(f"{name}={value!r} must be a positive number of hours")
    return hours


Setting = Callable[..., Any]


def load_config(instance_path: Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the app's settings from the environment, then apply test overrides."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    env = os.environ
    overrides = dict(overrides or {})

    def setting(name: str, default: Any = None) -> Any:
        if name in overrides:
            return overrides[name]
        return env.get(name) or default

    config: dict[str, Any] = {**_core(setting, instance_path), **_network(setting), **_jobs(setting),
                              **_web_security(setting, bool(overrides.get("TESTING")))}
    # Test mappings may set any Flask key directly (DATABASE_URL was handled above).
    config.update({k: v for k, v in overrides.items() if k != "DATABASE_URL"})
    _check_choices(config)
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Writers wait for each other instead of failing at once.
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    return config


def _database_url(setting: Setting, instance_path: Path) -> str:
    database_url = setting("DATABASE_URL") or f"sqlite:///{instance_path / 'jury.sqlite3'}"
    # psycopg 3 is the driver we ship; accept the usual postgres:// spellings.
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            database_url = "postgresql+psycopg://" + database_url[len(prefix):]
    return database_url


def _core(setting: Setting, instance_path: Path) -> dict[str, Any]:
    """Secrets, the database, Redis, the network, the scorer and the intake caps."""
    return {
        "SECRET_KEY": setting("SECRET_KEY") or _instance_secret(instance_path, "secret_key"),
        "SQLALCHEMY_DATABASE_URI": _database_url(setting, instance_path),
        "REDIS_URL": setting("REDIS_URL") or None,
        "INTAKE_SECRET": setting("INTAKE_SECRET") or _instance_secret(instance_path, "intake"),
        "NETWORK_ADAPTER": setting("NETWORK_ADAPTER", "sandbox"),
        "NETWORK_URL": setting("NETWORK_URL", "http://127.0.0.1:5000/sandbox"),
        "NETWORK_TOKEN": setting("NETWORK_TOKEN"),
        "NETWORK_WEBHOOK_SECRET": setting("NETWORK_WEBHOOK_SECRET")
        or _instance_secret(instance_path, "network_webhook"),
        "SCORER": setting("SCORER", "sklearn"),
        "MODEL_DIR": str(setting("MODEL_DIR") or instance_path / "models"),
        # Public base URL of this Jury, used in links sent to the network.
        "PUBLIC_URL": setting("PUBLIC_URL", "http://127.0.0.1:5000"),
        "INTAKE_MAX_BYTES": int(setting("INTAKE_MAX_BYTES", 5 * 1024 * 1024)),
        "INTAKE_MAX_ITEMS": int(setting("INTAKE_MAX_ITEMS", 1000)),
        "POST_MAX_CHARS": int(setting("POST_MAX_CHARS", 20_000)),
        # New verdicts that trigger retraining the site model on the `training` queue.
        "RETRAIN_MIN_VERDICTS": int(setting("RETRAIN_MIN_VERDICTS", 200)),
        # ...and no sooner than this after the model in use was trained: at a busy jury's pace 200
        # verdicts come every half minute, and each retraining costs tens of CPU-seconds and a
        # reload in every scoring worker.
        "RETRAIN_MIN_INTERVAL_MINUTES": _minutes("RETRAIN_MIN_INTERVAL_MINUTES",
                                                 setting("RETRAIN_MIN_INTERVAL_MINUTES", 60)),
        # Likewise for re-estimating juror reliability (a read of every vote ever cast), which the
        # policy's reestimate_every_verdicts asks for.
        "REESTIMATE_MIN_INTERVAL_MINUTES": _minutes("REESTIMATE_MIN_INTERVAL_MINUTES",
                                                    setting("REESTIMATE_MIN_INTERVAL_MINUTES", 10)),
    }


def _network(setting: Setting) -> dict[str, Any]:
    """The Mastodon adapter and how deliveries fail and retry."""
    return {
        # Mastodon adapter (NETWORK_ADAPTER=mastodon): see README, "Connecting a Mastodon instance".
        "MASTODON_TEMPORARY_SUSPENSION": setting("MASTODON_TEMPORARY_SUSPENSION", "silence"),
        "MASTODON_NOTIFY_EMAIL": setting("MASTODON_NOTIFY_EMAIL", "true"),
        "MASTODON_RULE_MAP": setting("MASTODON_RULE_MAP", ""),
        # Failure handling (see README "Failure behaviour"): seconds unless named otherwise.
        "NETWORK_TIMEOUT": float(setting("NETWORK_TIMEOUT", 10.0)),
        "NETWORK_BREAKER_THRESHOLD": int(setting("NETWORK_BREAKER_THRESHOLD", 5)),
        "NETWORK_BREAKER_COOLDOWN": float(setting("NETWORK_BREAKER_COOLDOWN", 60.0)),
        "ACTION_RETRY_BASE": float(setting("ACTION_RETRY_BASE", 15.0)),
        "ACTION_RETRY_CAP": float(setting("ACTION_RETRY_CAP", 3600.0)),
        # The critical lane's on-call alert (triage.critical): a signed critical_case POST to this
        # URL per credible threat to life, retried like any action; unset, the on-call page only.
        "ONCALL_WEBHOOK_URL": setting("ONCALL_WEBHOOK_URL") or None,
        "ONCALL_WEBHOOK_SECRET": setting("ONCALL_WEBHOOK_SECRET") or None,
    }


def _jobs(setting: Setting) -> dict[str, Any]:
    """Jobs, scoring batches, the policy cache and the audit sealer."""
    return {
        "JOB_LOST_AFTER": float(setting("JOB_LOST_AFTER", 300.0)),
        # How long a queued scoring job lets posts gather before it takes them (0: not at all).
        "SCORING_LINGER_SECONDS": _linger_seconds(setting("SCORING_LINGER_SECONDS", 0.5)),
        # How long a process reuses the policy in force before reading it again (0: every time).
        "POLICY_CACHE_SECONDS": float(setting("POLICY_CACHE_SECONDS", 5.0)),
        # How often the sweeper process seals new audit events into the chain (PostgreSQL).
        "AUDIT_SEAL_SECONDS": float(setting("AUDIT_SEAL_SECONDS", 1.0)),
    }


def _web_security(setting: Setting, testing: bool) -> dict[str, Any]:
    """Cookies, sessions, metrics, proxies, rate limits, lockout and the connection pool."""
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _cookie_secure(setting("SESSION_COOKIE_SECURE"),
                                                setting("PUBLIC_URL", "http://127.0.0.1:5000"),
                                                testing),
        # Bearer token /metrics asks for; unset, /metrics answers loopback clients only.
        "METRICS_TOKEN": setting("METRICS_TOKEN") or None,
        # Proxies in front of gunicorn whose X-Forwarded-For/-Proto are trusted (rate limits key on the client IP).
        "TRUSTED_PROXIES": int(setting("TRUSTED_PROXIES", 0)),
        # Flask-Limiter: counters in Redis when there is one, else per process.
        "RATELIMIT_ENABLED": str(setting("RATELIMIT_ENABLED", "true")).lower() == "true",
        "RATELIMIT_STORAGE_URI": setting("RATELIMIT_STORAGE_URI") or setting("REDIS_URL") or "memory://",
        "LOGIN_RATE_LIMIT": setting("LOGIN_RATE_LIMIT", "10/minute"),
        "API_RATE_LIMIT": setting("API_RATE_LIMIT", "300/second"),
        "SANDBOX_REPORT_RATE_LIMIT": setting("SANDBOX_REPORT_RATE_LIMIT", "10/minute"),
        # Failed logins that lock an account, and for how long.
        "LOGIN_LOCKOUT_FAILURES": int(setting("LOGIN_LOCKOUT_FAILURES", 5)),
        "LOGIN_LOCKOUT_MINUTES": int(setting("LOGIN_LOCKOUT_MINUTES", 15)),
        # Most recently used connection first, so the pool's hot connections stay hot and the
        # idle ones are the ones pinged before use (DB_PING_IDLE_SECONDS, see jury.pool_ping).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_use_lifo": True},
        "DB_PING_IDLE_SECONDS": float(setting("DB_PING_IDLE_SECONDS", 10)),
        # How long a login lasts, by role: a lead's powers deserve a shorter one.
        "SESSION_HOURS": _hours("SESSION_HOURS", setting("SESSION_HOURS", 7 * 24)),
        "LEAD_SESSION_HOURS": _hours("LEAD_SESSION_HOURS", setting("LEAD_SESSION_HOURS", 12)),
        # A form's CSRF token expires (a new one comes with every page) and is replaced at login.
        "WTF_CSRF_TIME_LIMIT": int(_hours("CSRF_TOKEN_HOURS", setting("CSRF_TOKEN_HOURS", 12)) * 3600),
    }


def _check_choices(config: Mapping[str, Any]) -> None:
    if config["NETWORK_ADAPTER"] not in NETWORK_ADAPTERS:
        raise ConfigError(
            f"NETWORK_ADAPTER={config['NETWORK_ADAPTER']!r} is not one of {', '.join(NETWORK_ADAPTERS)}"
        )
    if config["SCORER"] not in SCORERS:
        raise ConfigError(f"SCORER={config['SCORER']!r} is not one of {', '.join(SCORERS)}")
    if config.get("ONCALL_WEBHOOK_URL"):
        url = urlsplit(config["ONCALL_WEBHOOK_URL"])
        if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
            raise ConfigError("ONCALL_WEBHOOK_URL must be an absolute http(s) URL without a query string")
        if not config.get("ONCALL_WEBHOOK_SECRET"):
            raise ConfigError("ONCALL_WEBHOOK_URL needs ONCALL_WEBHOOK_SECRET: the alerts are signed with it")
