"""Appeal and invitation tokens are bearer secrets: they never reach an access log, and a link names no
sequential id."""
from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.error import HTTPError, URLError

import pytest
from sqlalchemy import select

from jury.demo.devserver import LiveServer
from jury.jurors import manage as jurors
from models import Verdict, db
from tests.integration.servers import free_port, wait_for
from triage import appeal_links

ROOT = Path(__file__).resolve().parents[2]
APPEAL_TOKEN = "eyJyIjoiU2VjcmV0UmVmZXJlbmNlIn0.Z1xYwA.c2lnbmF0dXJlLXBhcnQtb2YtdGhlLWxpbms"
INVITE_TOKEN = "eyJuIjoiaW52aXRlLW5vbmNlIn0.Z1xYwA.aW52aXRlLXNpZ25hdHVyZQ"


def fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own loopback server
            return response.status
    except HTTPError as error:
        return error.code
    except URLError:
        return 0  # not listening yet


def test_the_demo_servers_request_log_names_no_token(app, caplog):
    # Alembic's logging set-up (the migrations ran in this process) disables loggers that existed then.
    logging.getLogger("werkzeug").disabled = False
    caplog.set_level(logging.INFO, logger="werkzeug")
    with LiveServer(app) as server:
        assert fetch(f"{server.url}/appeal/{APPEAL_TOKEN}") == 400
        assert fetch(f"{server.url}/join/{INVITE_TOKEN}") == 404
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/appeal/[redacted]" in logged and "/join/[redacted]" in logged
    assert APPEAL_TOKEN not in logged and INVITE_TOKEN not in logged and "signature" not in logged


def test_gunicorns_access_log_names_no_token(tmp_path):
    port, log = free_port(), tmp_path / "access.log"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'jury.sqlite3'}", "SECRET_KEY": "k" * 32,
           "INTAKE_SECRET": "i" * 32, "NETWORK_WEBHOOK_SECRET": "w" * 32, "REDIS_URL": ""}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                                "--access-logfile", str(log), "wsgi:app"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: fetch(f"http://127.0.0.1:{port}/login") == 200, 30, "gunicorn")
        fetch(f"http://127.0.0.1:{port}/appeal/{APPEAL_TOKEN}")
        fetch(f"http://127.0.0.1:{port}/join/{INVITE_TOKEN}")
        wait_for(lambda: log.exists() and "/join/" in log.read_text(), 10, "the access log")
    finally:
        process.terminate()
        process.wait(10)
    written = log.read_text()
    assert "GET /login" in written and "/appeal/[redacted]" in written and "/join/[redacted]" in written
    assert APPEAL_TOKEN not in written and INVITE_TOKEN not in written


def _payload(token: str) -> dict:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_an_appeal_link_names_an_opaque_reference_and_old_links_still_work(app, make_user):
    from tests.conftest import Api
    from tests.jury.appeals.test_appeals_flow import remove_by_panel

    verdict = remove_by_panel(Api(app.test_client()), [make_user(f"juror{i}") for i in range(3)])
    url = appeal_links.appeal_url(verdict.id, verdict.decided_at.timestamp(), verdict.appeal_ref)
    token = url.rsplit("/", 1)[1]
    payload = _payload(token)
    assert set(payload) == {"r"} and payload["r"] == verdict.appeal_ref and len(verdict.appeal_ref) >= 20
    assert appeal_links.read_token(token) == verdict.id
    # A link sent before verdicts had references names the id, and is honoured for its six months.
    assert appeal_links.read_token(appeal_links.make_token(verdict.id)) == verdict.id
    with pytest.raises(appeal_links.LinkInvalid):
        appeal_links.read_token(appeal_links.make_token(verdict.id, ref="no-such-reference"))
    other = make_user("lead", role="lead")
    refs = set(db.session.scalars(select(Verdict.appeal_ref)))
    assert None not in refs and len(refs) == db.session.query(Verdict).count()
    _, invite = jurors.create_invite(app.config["SECRET_KEY"], note="", days=1, actor_id=other.id)
    assert set(_payload(invite)) == {"n"}  # a random nonce, no row id
