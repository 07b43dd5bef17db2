"""Shared fixtures: apps on SQLite and PostgreSQL, a Redis, a live server, and helpers."""
from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from jury import create_app
from jury.demo.devserver import LiveServer
from models import Base, db
from network.signing import SIGNATURE_HEADER, sign
from triage.policy import DEFAULT_SETTINGS, current_policy

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"
INTAKE_SECRET = "test-intake-secret"
WEBHOOK_SECRET = "test-webhook-secret"
TABLES = [table.name for table in reversed(Base.metadata.sorted_tables)]


def service_missing(what: str, error: Exception) -> None:
    """Skip locally, fail in CI: CI must never pass by skipping a real service."""
    message = f"{what} is not reachable: {type(error).__name__}: {error}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def shared_file(*parts: str) -> Path:
    """A file of the labelled data sets (`../shared/data`, or JURY_SHARED_DATA); skip when absent.

    The data is never copied into the project, so on a machine without it these tests skip.
    """
    root = Path(os.environ.get("JURY_SHARED_DATA") or ROOT.parent / "shared" / "data")
    path = root.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"labelled data not found at {path}")
    return path


def base_config(tmp_path: Path, **extra) -> dict:
    """Settings every test app shares; each test gets its own model dir copy."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "INTAKE_SECRET": INTAKE_SECRET,
        "NETWORK_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "NETWORK_ADAPTER": "sandbox",
        "NETWORK_URL": "http://127.0.0.1:9/sandbox",  # closed port unless a live server is started
        "REDIS_URL": None,
        "MODEL_DIR": str(_shared_model_dir()),
        "WTF_CSRF_ENABLED": False,
    }
    config.update(extra)
    return config


@functools.cache
def _shared_model_dir(_unused=None) -> Path:
    """Train the default model once per session and reuse it (read-only) everywhere."""
    from classifiers import ensure_default_model

    path = Path(tempfile.mkdtemp(prefix="jury-test-models-"))
    ensure_default_model(path)
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated once; each test copies it (migrations are tested, and tests stay fast)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    app = create_app(base_config(path.parent, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}"))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    return path


@contextlib.contextmanager
def private_database(prefix: str):
    """A new, empty database of our own on the PostgreSQL server (its URL), dropped afterwards.

    Its own database, not the shared `test` one, so two test runs at once never collide.
    """
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - any failure means no usable server
        service_missing("PostgreSQL", error)
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_migrated(tmp_path_factory):
    """A private PostgreSQL database, migrated once per session, dropped at the end."""
    with private_database("jury_test") as url:
        app = create_app(base_config(tmp_path_factory.mktemp("pg"), SQLALCHEMY_DATABASE_URI=url))
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            db.engine.dispose()
        yield url


def truncate_pg() -> None:
    """Empty every table between tests (faster than migrating again)."""
    db.session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    db.session.commit()


def make_app(backend: str, tmp_path: Path, request, **extra):
    """An app on the named backend with a clean database."""
    if backend == "sqlite":
        path = tmp_path / "jury.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_migrated")
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=url, **extra))
    with app.app_context():
        if backend == "postgresql":
            truncate_pg()
        current_policy()
        db.session.commit()
    return app


@pytest.fixture(autouse=True)
def one_case_per_post(request, monkeypatch):
    """Most tests send one short text as many posts to get as many cases; with near-duplicate clusters
    on (Jury's default) those posts would share one case. They run with clustering off in the policy
    version their app starts with; tests marked `clusters` run the defaults."""
    if request.node.get_closest_marker("clusters") is None:
        monkeypatch.setitem(DEFAULT_SETTINGS, "clusters", {**DEFAULT_SETTINGS["clusters"], "enabled": False})


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    """Run the test on the embedded default and on PostgreSQL."""
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
    return request.param


@pytest.fixture
def app(backend, tmp_path, request):
    """The app on each backend, jobs inline, its database clean."""
    app = make_app(backend, tmp_path, request)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def sqlite_app(tmp_path, request):
    """The app on SQLite only."""
    app = make_app("sqlite", tmp_path, request)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def pg_app(tmp_path, request):
    """The app on PostgreSQL only."""
    app = make_app("postgresql", tmp_path, request)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def redis_url():
    """A clean Redis database for the test."""
    from redis import Redis

    try:
        connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        connection.flushdb()
    except Exception as error:  # noqa: BLE001
        service_missing("Redis", error)
    yield REDIS_URL
    connection.flushdb()


@pytest.fixture
def live_server(app):
    """Serve `app` over HTTP; its sandbox network becomes the action target."""
    with LiveServer(app) as server:
        yield server


def signed(payload, secret: str = INTAKE_SECRET, timestamp: int | None = None) -> tuple[bytes, dict]:
    """Body bytes and headers of a correctly signed intake request."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    header = sign(secret, body, int(time.time()) if timestamp is None else timestamp)
    return body, {SIGNATURE_HEADER: header, "Content-Type": "application/json"}


class Api:
    """Signed calls to the intake API through the test client."""

    def __init__(self, client):
        self.client = client

    def post(self, path: str, payload, **kwargs):
        """POST a signed JSON body."""
        body, headers = signed(payload, **kwargs)
        return self.client.post(path, data=body, headers=headers)

    def posts(self, *posts):
        """Send posts."""
        return self.post("/api/v1/posts", {"posts": list(posts)})

    def reports(self, *reports):
        """Send reports."""
        return self.post("/api/v1/reports", {"reports": list(reports)})


@pytest.fixture
def api(client) -> Api:
    """Signed intake API helper."""
    return Api(client)


class Auth:
    """Log users in and out of the test client (the flaskr tutorial's helper)."""

    def __init__(self, client):
        self.client = client

    def login(self, username: str, password: str = "correct horse battery"):
        """Log in through the form."""
        return self.client.post("/login", data={"username": username, "password": password})

    def logout(self):
        """Log out."""
        return self.client.post("/logout")


@pytest.fixture
def auth(client) -> Auth:
    """Login helper."""
    return Auth(client)


PASSWORD = "correct horse battery"


def sign_in(session, user_id: int) -> None:
    """Put a login in a test client's session directly, as the login form would (it is rate-limited)."""
    from jury.jurors.users import SESSION_STARTED
    from models import User

    user = db.session.get(User, user_id)
    session["_user_id"] = user.get_id()
    session["_fresh"] = True
    session[SESSION_STARTED] = int(time.time())


@pytest.fixture
def make_user(app):
    """Create accounts: make_user('ann', role='juror', network_account_id=...)."""
    from jury.jurors import users

    def factory(username: str, role: str = "juror", **kwargs):
        return users.create_user(username, PASSWORD, role, **kwargs)

    return factory


def post_payload(pid: str, text: str = "Nice weather today.", author: str = "author-1", **extra) -> dict:
    """One post as the network sends it."""
    return {"id": pid, "author_id": author, "text": text, **extra}


def report_payload(rid: str, pid: str, reporter: str = "reporter-1", reason: str = "harassment", **extra) -> dict:
    """One report as the network sends it."""
    return {"id": rid, "post_id": pid, "reporter_id": reporter, "reason": reason, **extra}


def aged_cases(api, count: int) -> list[int]:
    """`count` reported cases opened 200 hours ago (past their SLA), their priorities not yet aged."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from models import Case, utcnow

    api.reports(*[report_payload(f"r{n}", f"p{n}", reason="spam", post=post_payload(f"p{n}", "a question"))
                  for n in range(count)])
    db.session.execute(update(Case).values(opened_at=utcnow() - timedelta(hours=200),
                                           sla_deadline=utcnow() - timedelta(hours=128)))
    db.session.commit()
    return list(db.session.scalars(select(Case.id).order_by(Case.id)))


def case_priorities() -> dict[int, float]:
    """Every case's priority as stored now."""
    from sqlalchemy import select

    from models import Case

    db.session.expire_all()
    return dict(db.session.execute(select(Case.id, Case.priority)).all())


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    """An empty database of the given kind, migrated by the test itself."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    request.applymarker(pytest.mark.postgres)
    with private_database("jury_migration") as url:
        yield url


@pytest.fixture
def jurors(make_user):
    """Nine jurors: three panels of three (modules that want other jurors define their own)."""
    return [make_user(f"juror{i}") for i in range(9)]


@pytest.fixture
def lead(make_user):
    """A lead account, not signed in."""
    return make_user("lea", role="lead")


def at_once(app, calls) -> list[BaseException]:
    """Run each call in a thread of its own, in its own app context, all started together; the errors
    they raised (a race test asserts there were none, then what the database holds)."""
    errors: list[BaseException] = []

    def run(call) -> None:
        with app.app_context():
            try:
                call()
            except BaseException as error:  # noqa: BLE001 - handed to the test
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors
