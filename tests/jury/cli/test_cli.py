"""The flask commands: users, audit verification, sweeping, the demo set-up."""
from __future__ import annotations

import threading
import time

from sqlalchemy import func, select, update

import audit
from jury.tasks import sweeper
from models import AuditEvent, Case, SandboxPost, User, db
from tests.conftest import post_payload


def test_users_create_reads_the_password_from_stdin(runner):
    result = runner.invoke(args=["users", "create", "ann", "--role", "lead", "--password-stdin"],
                           input="a long enough password\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "ann"))
    assert user.role == "lead" and user.password_hash != "a long enough password"
    assert "a long enough password" not in result.output


def test_users_create_errors_are_clear(runner):
    short = runner.invoke(args=["users", "create", "ann", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 10" in short.output
    bad_role = runner.invoke(args=["users", "create", "ann", "--role", "king", "--password-stdin"], input="x" * 12)
    assert bad_role.exit_code != 0
    runner.invoke(args=["users", "create", "ann", "--password-stdin"], input="x" * 12 + "\n")
    duplicate = runner.invoke(args=["users", "create", "ann", "--password-stdin"], input="y" * 12 + "\n")
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output


def test_audit_verify_detects_an_edited_event(runner, api):
    api.posts(post_payload("p1", "hello"), post_payload("p2", "you stupid moron"))
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    victim = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[1]
    db.session.execute(update(AuditEvent).where(AuditEvent.id == victim.id).values(actor="someone-else"))
    db.session.commit()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code != 0 and f"event {victim.id}" in broken.output


def test_audit_seal_chains_what_was_written_and_verify_says_what_it_did_not_check(runner, app):
    audit.seal(db.session)
    for n in range(3):
        audit.record(db.session, "test_event", "thing", n, {"n": n})
        db.session.commit()
    background = audit.seals_in_background(db.session)
    unchecked = runner.invoke(args=["audit", "verify", "--no-seal"])
    assert unchecked.exit_code == 0
    # PostgreSQL leaves the three to the sealer; SQLite chained them as they committed.
    assert ("3 newer events are not sealed yet" in unchecked.output) == background
    sealed = runner.invoke(args=["audit", "seal"])
    assert sealed.exit_code == 0 and f"sealed {3 if background else 0} events" in sealed.output
    checked = runner.invoke(args=["audit", "verify"])
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert f"intact: {total} events" in checked.output and "not sealed" not in checked.output


def test_the_sweeper_loop_seals_new_events_within_its_interval(app):
    app.config["AUDIT_SEAL_SECONDS"] = 0.05
    stop = threading.Event()
    thread = threading.Thread(target=sweeper.run_forever, args=(app, 60.0, stop), daemon=True)
    thread.start()
    try:
        audit.record(db.session, "test_event", "thing", "late", {})
        db.session.commit()
        deadline = time.monotonic() + 10
        while audit.unsealed_count(db.session) and time.monotonic() < deadline:
            db.session.rollback()
            time.sleep(0.05)
        assert audit.unsealed_count(db.session) == 0
        head_id, _ = audit.chain_head(db.session)
        assert db.session.get(AuditEvent, head_id).subject_id == "late"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_sweep_command(runner):
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0 and "expired_leases" in result.output


def test_worker_without_redis_says_why(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL" in result.output


def test_demo_setup_seeds_accounts_posts_and_cases(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    for name in ("juror", "juror2", "juror3", "lead"):
        assert f" {name} " in result.output
    from jury.demo.seed import DEMO_POSTS

    assert db.session.query(SandboxPost).count() == len(DEMO_POSTS)
    assert db.session.query(Case).count() >= 5
    # Running it again is harmless: no duplicate cases, fresh passwords.
    cases = db.session.query(Case).count()
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0 and db.session.query(Case).count() == cases
    assert again.output.split("juror3")[1].split()[0] != result.output.split("juror3")[1].split()[0]


def test_the_demo_command_serves_and_delivers_to_its_sandbox(tmp_path):
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests

    from tests.conftest import ROOT, _shared_model_dir

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
           "MODEL_DIR": str(_shared_model_dir()), "SECRET_KEY": "s", "INTAKE_SECRET": "i",
           "NETWORK_WEBHOOK_SECRET": "w", "NETWORK_URL": f"http://127.0.0.1:{port}/sandbox",
           "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    env.pop("REDIS_URL", None)
    demo = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "demo", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        sandbox = ""
        while time.monotonic() < deadline:
            try:
                sandbox = requests.get(f"http://127.0.0.1:{port}/sandbox/", timeout=2).text
                if 'class="state">hidden' in sandbox:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        # The demo's threat post was hidden on its sandbox network, over HTTP, right after start.
        assert 'class="state">hidden' in sandbox
        assert requests.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200
    finally:
        demo.terminate()
        output = demo.communicate(timeout=10)[0]
    assert "lead" in output and "juror3" in output


def test_worker_refuses_to_start_without_a_loadable_model(runner, app, tmp_path):
    app.config.update(REDIS_URL="redis://127.0.0.1:1/0", SCORER="detoxify", MODEL_DIR=str(tmp_path))
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "cannot load the detoxify scorer" in result.output
    assert "detoxify.json is missing" in result.output
