"""Faults, with nothing lost: a failing network, Redis stopped, a worker killed mid-job, PostgreSQL
restarted under load. Real processes, real servers (private ones where a test stops them)."""
from __future__ import annotations

import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
import requests
from sqlalchemy import func, make_url, select

import audit
from jury import create_app
from jury.jurors import users
from jury.panels import voting
from jury.tasks import sweeper
from models import Action, AuditEvent, Case, Post, Score, Verdict, db
from network import MAX_ATTEMPTS
from network.signing import SIGNATURE_HEADER, SignatureError, verify
from tests.conftest import INTAKE_SECRET, PASSWORD, WEBHOOK_SECRET, base_config, post_payload, report_payload, signed
from tests.integration.servers import free_port, wait_for
from triage import dealing
from triage.policy import current_policy

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.redis]

THREAT = "I know where you live and I will hurt you and your family tonight."
# Short enough for a test that runs in seconds; the production defaults are in jury/config.py.
FAST_FAILURE = {"NETWORK_TIMEOUT": 0.5, "NETWORK_BREAKER_THRESHOLD": 3, "NETWORK_BREAKER_COOLDOWN": 1.0,
                "ACTION_RETRY_BASE": 0.2, "ACTION_RETRY_CAP": 1.0}


@pytest.fixture
def app(pg_app, redis_url):
    """PostgreSQL with jobs on Redis; the helpers (api, make_user) use this app."""
    pg_app.config["REDIS_URL"] = redis_url
    return pg_app


class Network:
    """The network's end of the webhook contract over real HTTP, failing on demand.

    mode "ok" applies each action_id once (a repeat answers 409), "500" answers 500, "timeout"
    applies the action and then hangs past the client's timeout (so the client cannot know).
    """

    def __init__(self):
        self.mode = "ok"
        self.lock = threading.Lock()
        self.applied: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []  # (mode, action_id) of every request received
        self.bad_signatures = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    verify(WEBHOOK_SECRET, body, self.headers.get(SIGNATURE_HEADER))
                except SignatureError:
                    outer.bad_signatures += 1
                    return self._answer(401)
                key = self.headers["Idempotency-Key"]
                assert json.loads(body)["action_id"] == key
                with outer.lock:
                    mode = outer.mode
                    outer.requests.append((mode, key))
                    if mode == "500":
                        first = None
                    else:
                        first = key not in outer.applied
                        outer.applied[key] = outer.applied.get(key, 0) + (1 if first else 0)
                if mode == "500":
                    return self._answer(500)
                if mode == "timeout":
                    time.sleep(2)
                self._answer(200 if first else 409)

            def _answer(self, status):
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass  # the client gave up (timeout mode)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def failed_requests(self) -> int:
        """Requests that reached the network while it was failing."""
        return sum(1 for mode, _ in self.requests if mode != "ok")


@pytest.fixture
def network():
    server = Network()
    yield server
    server.server.shutdown()


def process_env(app, **extra) -> dict:
    """The environment a worker, sweeper or gunicorn process reads its configuration from."""
    config = app.config
    env = {**os.environ, "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": config["REDIS_URL"] or "",
           "MODEL_DIR": config["MODEL_DIR"], "INTAKE_SECRET": INTAKE_SECRET, "SECRET_KEY": "fault-test",
           "NETWORK_WEBHOOK_SECRET": WEBHOOK_SECRET, "NETWORK_ADAPTER": config["NETWORK_ADAPTER"],
           "NETWORK_URL": config["NETWORK_URL"]}
    env.update({key: str(value) for key, value in extra.items()})
    return env


def workers_ready(app, n: int) -> bool:
    """Whether n RQ workers have registered with Redis (they load the model first)."""
    from redis import Redis
    from rq import Worker

    with Redis.from_url(app.config["REDIS_URL"]) as connection:
        return len(Worker.all(connection=connection)) >= n


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_intact() -> bool:
    """Every event written so far seals into one unbroken chain."""
    audit.seal(db.session)
    _checked, broken = audit.verify_chain(db.session)
    return broken is None and audit.unsealed_count(db.session) == 0


# --- the network fails for a while -------------------------------------------------------------

def test_a_failing_network_gets_every_action_exactly_once_and_is_not_hammered(
        app, network, processes, api, make_user, tmp_path):
    app.config.update(NETWORK_ADAPTER="webhook", NETWORK_URL=network.url, **FAST_FAILURE)
    panels = [[make_user(f"juror{case}-{seat}") for seat in range(3)] for case in range(8)]
    for case in range(8):
        assert api.reports(report_payload(f"r{case}", f"p{case}", reporter=f"reporter-{case}", reason="spam",
                                          post=post_payload(f"p{case}", "buy cheap followers now",
                                                            author=f"author-{case}"))).status_code == 202
    env = process_env(app, **FAST_FAILURE)
    for _ in range(2):
        processes.start("worker", env=env, log=tmp_path / "worker.log")
    processes.start("sweep", "--loop", "--interval", "0.2", env=env, log=tmp_path / "sweep.log")
    wait_for(lambda: workers_ready(app, 2) and count(Post, Post.scored_at.is_(None)) == 0, 120, "the workers")

    network.mode = "500"
    for panel in panels:
        for juror in panel:
            voting.cast_vote(dealing.deal_next(juror).case_id, juror, "remove", "spam")
    # Each verdict's follow-up job queues a removal, a notice, and the warning an author's first strike calls for.
    wait_for(lambda: count(Action) == 24, 60, "the verdicts' follow-up jobs")
    started = time.monotonic()
    time.sleep(4)  # answering 500
    network.mode = "timeout"
    time.sleep(4)  # applying, then hanging past the client's timeout
    network.mode = "ok"
    outage = time.monotonic() - started
    wait_for(lambda: count(Action, Action.state == "sent") == 24, 90, "every action to be sent")

    actions = db.session.scalars(select(Action)).all()
    # Exactly once at the receiving end: the idempotency key made every re-send harmless.
    assert network.applied == {action.idempotency_key: 1 for action in actions}
    assert network.bad_signatures == 0
    # Nothing was dead-lettered, and no action used up its attempts waiting out the outage.
    assert max(action.attempts for action in actions) < MAX_ATTEMPTS
    # The breaker kept the failing network from being hammered: without it, 24 actions retried
    # every 0.2-1 s would have sent well over a hundred requests into the outage.
    cooldowns = outage / FAST_FAILURE["NETWORK_BREAKER_COOLDOWN"]
    bound = FAST_FAILURE["NETWORK_BREAKER_THRESHOLD"] + 2 + 2 * cooldowns
    assert FAST_FAILURE["NETWORK_BREAKER_THRESHOLD"] <= network.failed_requests() <= bound, (
        network.failed_requests(), bound)
    print(f"outage {outage:.1f}s: {network.failed_requests()} requests into it, {len(network.requests)} in all,"
          f" {count(AuditEvent, AuditEvent.event_type == 'action_deferred')} deferrals, attempts "
          f"{sorted(a.attempts for a in actions)}")
    assert count(AuditEvent, AuditEvent.event_type == "action_deferred") > 0
    assert count(Case, Case.state == "actioned") == 8
    assert audit_intact()


# --- Redis stops while posts and reports arrive ------------------------------------------------

def test_redis_down_intake_still_answers_and_the_sweeper_catches_up(
        app, private_redis, network, processes, api, make_user, tmp_path):
    app.config.update(REDIS_URL=private_redis.url, NETWORK_ADAPTER="webhook", NETWORK_URL=network.url,
                      JOB_LOST_AFTER=1)
    panel = [make_user(f"juror{seat}") for seat in range(3)]
    assert api.reports(report_payload("r0", "p0", reason="spam",
                                      post=post_payload("p0", "buy cheap followers now"))).status_code == 202
    for juror in panel[:2]:
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "remove", "spam")
    last_seat = dealing.deal_next(panel[2])  # the third juror is reading the case

    private_redis.stop()  # and with it the scoring job of p0: no persistence, as in a crash
    slowest = 0.0
    for batch in range(5):
        start = time.monotonic()
        response = api.posts(*[post_payload(f"b{batch}-{i}", THREAT if i == 0 else "hello there")
                               for i in range(10)])
        slowest = max(slowest, time.monotonic() - start)
        assert response.status_code == 202 and response.get_json()["created"] == 10
    for i in range(5):
        response = api.reports(report_payload(f"rr{i}", f"b{i}-0", reporter=f"reporter-{i}", reason="violence_threat"))
        assert response.status_code == 202 and response.get_json()["created"] == 1
    # The deciding vote comes in too: the verdict is stored; its follow-up (which creates the
    # actions) could not be queued, and waits for the sweeper.
    voting.cast_vote(last_seat.case_id, panel[2], "remove", "spam")
    assert slowest < 3, f"an intake request took {slowest:.1f}s with Redis down"
    assert count(Post) == 51 and count(Post, Post.scored_at.is_(None)) == 51
    assert count(Verdict) == 1 and count(Verdict, Verdict.followed_up_at.is_(None)) == 1

    private_redis.start()  # back, empty
    env = process_env(app, JOB_LOST_AFTER=1)
    processes.start("worker", env=env, log=tmp_path / "worker.log")
    processes.start("sweep", "--loop", "--interval", "0.3", env=env, log=tmp_path / "sweep.log")
    wait_for(lambda: count(Post, Post.scored_at.is_(None)) == 0 and count(Action, Action.state != "sent") == 0
             and count(Action) >= 2 + 5 and count(Verdict, Verdict.followed_up_at.is_(None)) == 0, 120,
             "every post scored, the verdict followed up and every action sent")

    db.session.expire_all()
    # Every post scored once, the reported threats each have one case and were hidden once.
    assert count(Score) == 51
    assert db.session.scalar(select(func.count(func.distinct(Case.post_id)))) == count(Case) == 6
    actions = db.session.scalars(select(Action)).all()
    assert sorted(a.type for a in actions).count("hide_post") == 5
    assert network.applied == {action.idempotency_key: 1 for action in actions}
    assert audit_intact()


# --- a worker is killed in the middle of a scoring job -----------------------------------------

def backends_waiting_on_a_lock(db_url: str) -> int:
    with psycopg.connect(db_url.replace("+psycopg", ""), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock'").fetchone()[0]


def test_a_worker_killed_mid_scoring_job_scores_each_post_once(app, network, processes, api, tmp_path):
    app.config.update(NETWORK_ADAPTER="webhook", NETWORK_URL=network.url)
    db_url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=False)
    api.posts(*[post_payload(f"p{i}", THREAT if i < 2 else "what a lovely morning") for i in range(6)])
    api.reports(report_payload("r0", "p0", reason="violence_threat"),
                report_payload("r1", "p1", reason="violence_threat"))
    env = process_env(app)

    # Hold the cases table so the job blocks half-way: its scores written and its posts marked
    # scored, not yet committed. (Posts another job holds it skips, so it must wait on the cases.)
    with psycopg.connect(db_url.replace("+psycopg", "")) as blocker:
        blocker.execute("LOCK TABLE cases IN SHARE ROW EXCLUSIVE MODE")
        worker = processes.start("worker", env=env, log=tmp_path / "worker.log")
        wait_for(lambda: backends_waiting_on_a_lock(db_url) > 0, 60, "the scoring job to reach the database")
        processes.kill(worker)  # SIGKILL: the worker and its job process die mid-transaction
        blocker.rollback()
    # Nothing of the killed job's work survives: no score, no post marked scored.
    wait_for(lambda: backends_waiting_on_a_lock(db_url) == 0, 30, "the killed job's transaction to end")
    assert count(Score) == 0 and count(Post, Post.scored_at.is_(None)) == 6

    # Later the sweeper finds the posts still unscored and queues them again; a new worker scores them.
    app.config["JOB_LOST_AFTER"] = 0.5
    time.sleep(0.6)
    assert sweeper.requeue_unscored() == 6
    processes.start("worker", env=env, log=tmp_path / "worker2.log")
    wait_for(lambda: count(Post, Post.scored_at.is_(None)) == 0 and count(Action) == 2
             and count(Action, Action.state == "sent") == 2, 90, "the posts scored and the threats hidden")
    # The effect happened once: one score and one scoring event per post, one case and one hide per threat.
    assert count(Score) == 6
    assert count(AuditEvent, AuditEvent.event_type == "post_scored") == 6
    assert count(Case) == 2
    assert sorted(network.applied.values()) == [1, 1]
    assert audit_intact()


# --- PostgreSQL restarts under load ------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LEAKS = ("Traceback", "psycopg", "OperationalError", "sqlalchemy", "File \"")


def test_postgresql_restart_under_load_fails_cleanly_and_recovers(private_postgres, redis_url, processes,
                                                                  tmp_path):
    url = private_postgres.database("jury")
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=url, REDIS_URL=redis_url))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        current_policy()
        users.create_user("ann", PASSWORD, "juror")
        db.session.commit()
        db.engine.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    server = processes.gunicorn(process_env(app), port, log)
    wait_for(lambda: _status(base + "/healthz") == 200, 60, "gunicorn to answer")

    juror = requests.Session()
    page = juror.get(base + "/login", timeout=10).text
    login = juror.post(base + "/login", data={"username": "ann", "password": PASSWORD,
                                              "csrf_token": CSRF.search(page).group(1)},
                       allow_redirects=False, timeout=10)
    assert login.status_code == 302

    results: list[dict] = []
    stop = threading.Event()

    def send_posts(thread: int) -> None:
        client = requests.Session()
        n = 0
        while not stop.is_set():
            ids = [f"t{thread}-{n}-{i}" for i in range(5)]
            n += 1
            body, headers = signed({"posts": [post_payload(pid, "hello there") for pid in ids]})
            started = time.monotonic()
            response = client.post(base + "/api/v1/posts", data=body, headers=headers, timeout=30)
            results.append({"kind": "intake", "at": started, "status": response.status_code,
                            "body": response.text, "ids": ids, "type": response.headers.get("Content-Type", "")})
            time.sleep(0.02)

    def read_pages() -> None:
        while not stop.is_set():
            started = time.monotonic()
            response = juror.get(base + "/", timeout=30)
            results.append({"kind": "page", "at": started, "status": response.status_code, "body": response.text})
            time.sleep(0.05)

    threads = [threading.Thread(target=send_posts, args=(i,)) for i in range(3)]
    threads.append(threading.Thread(target=read_pages))
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        private_postgres.stop()
        down = time.monotonic()
        time.sleep(3)
        private_postgres.start()
        up = time.monotonic()
        time.sleep(5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    assert server.poll() is None, "gunicorn died"
    # Every failure was handled: no unhandled exception reached gunicorn's log either.
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    statuses = {(r["kind"], r["status"]) for r in results}
    assert statuses <= {("intake", 202), ("intake", 503), ("page", 200), ("page", 503)}, statuses
    failed = [r for r in results if r["status"] == 503]
    assert any(r["kind"] == "intake" for r in failed) and any(r["kind"] == "page" for r in failed)
    for r in failed:
        assert not any(leak in r["body"] for leak in LEAKS), r["body"][:500]
        if r["kind"] == "intake":
            assert json.loads(r["body"]) == {"error": "service temporarily unavailable; retry later"}
        else:
            assert "Temporarily unavailable" in r["body"]
    # Failures only around the outage; the app recovered by itself (same gunicorn, no restart).
    assert all(down - 1 <= r["at"] <= up + 3 for r in failed), "requests failed outside the outage"
    late = [r for r in results if r["at"] > up + 3]
    assert late and all(r["status"] in (200, 202) for r in late)

    with app.app_context():
        stored = set(db.session.scalars(select(Post.external_id)))
        for r in results:
            if r["kind"] != "intake":
                continue
            present = [pid in stored for pid in r["ids"]]
            if r["status"] == 202:
                assert all(present), r["ids"]  # accepted means stored
            else:
                assert all(present) or not any(present), r["ids"]  # never half a batch
        assert audit_intact()
        db.session.remove()
        db.engine.dispose()


def _status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return None
