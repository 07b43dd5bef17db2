"""PostgreSQL + Redis + real RQ worker processes: the loop as it runs in production."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select, update

from jury.demo import sandbox_network as sandbox
from jury.panels import voting
from jury.tasks import sweeper
from models import Action, Case, Post, SandboxPost, Score, Verdict, db, utcnow
from tests.conftest import INTAKE_SECRET, ROOT, WEBHOOK_SECRET, LiveServer, post_payload, report_payload
from tests.integration.servers import descendants
from triage import dealing

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
THREAT = "I know where you live and I will hurt you and your family tonight."


@pytest.fixture
def app(pg_app, redis_url):
    """PostgreSQL with jobs on Redis (not inline)."""
    pg_app.config["REDIS_URL"] = redis_url
    return pg_app


@pytest.fixture
def server(app):
    with LiveServer(app) as live:
        yield live


def worker_env(app) -> dict:
    """The environment a separately started worker process reads its configuration from."""
    config = app.config
    return {**os.environ, "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": config["REDIS_URL"],
            "MODEL_DIR": config["MODEL_DIR"], "INTAKE_SECRET": INTAKE_SECRET, "SECRET_KEY": "worker-test",
            "NETWORK_WEBHOOK_SECRET": WEBHOOK_SECRET, "NETWORK_ADAPTER": config["NETWORK_ADAPTER"],
            "NETWORK_URL": config["NETWORK_URL"]}


def flask_bin() -> str:
    return str(Path(sys.executable).parent / "flask")


def run_worker_burst(app, fork: bool = False) -> None:
    """A real `flask worker --burst` process: works every queued job, then exits."""
    command = [flask_bin(), "--app", "wsgi", "worker", "--burst", *(["--fork"] if fork else [])]
    result = subprocess.run(command, cwd=ROOT, env=worker_env(app), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def queued(app, name: str) -> int:
    return Queue(name, connection=Redis.from_url(app.config["REDIS_URL"])).count


def test_jobs_go_through_redis_to_a_real_worker(app, server, api, make_user):
    sandbox.add_posts([{"id": "p1", "author_id": "author-1", "text": THREAT}])
    assert api.posts(post_payload("p1", THREAT), post_payload("p2", "lovely day")).status_code == 202
    assert api.reports(report_payload("r1", "p1", reason="violence_threat")).status_code == 202
    # Stored and queued, not yet scored: the request did not wait for the model.
    assert db.session.scalar(select(func.count()).select_from(Score)) == 0
    assert queued(app, "scoring") == 1
    run_worker_burst(app)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Score)) == 2
    case = db.session.scalar(select(Case))
    assert case.severity == 3
    # The interim hide was queued by the scoring job and applied by the worker.
    run_worker_burst(app)
    assert db.session.scalar(select(SandboxPost.state)) == "hidden"

    for i in range(3):
        juror = make_user(f"juror{i}")
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "remove", "violence_threat")
    # The verdict's follow-up, enqueued after the commit: it creates and queues remove_post and notify.
    assert queued(app, "actions") == 1
    assert db.session.scalar(select(func.count()).select_from(Action).where(Action.verdict_id.is_not(None))) == 0
    assert db.session.scalar(select(SandboxPost.state)) == "hidden"
    run_worker_burst(app)  # the follow-up, then the two deliveries it queued
    db.session.expire_all()
    assert db.session.scalar(select(SandboxPost.state)) == "removed"
    assert db.session.scalar(select(Case.state)) == "actioned"
    assert {a.state for a in db.session.scalars(select(Action))} == {"sent"}


def test_intake_keeps_working_while_redis_is_down(app, api):
    real_redis = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    response = api.posts(post_payload("p1", "you stupid moron"), post_payload("p2", "hello"))
    assert response.status_code == 202 and response.get_json()["created"] == 2
    assert db.session.scalar(select(func.count()).select_from(Post).where(Post.scored_at.is_(None))) == 2
    app.config["REDIS_URL"] = real_redis
    # Redis is back; once the job counts as lost, the sweeper queues it again.
    db.session.execute(update(Post).values(score_requested_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    assert sweeper.requeue_unscored() == 2
    run_worker_burst(app, fork=True)  # RQ's classic worker, a process per job, works the same jobs
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Post).where(Post.scored_at.is_(None))) == 0


class SlowNetwork:
    """A network whose first delivery hangs (so a worker can be killed mid-job); later ones succeed."""

    def __init__(self):
        self.deliveries: list[str] = []
        self.hang = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.deliveries.append(self.headers["Idempotency-Key"])
                if len(outer.deliveries) == 1:
                    outer.hang.set()
                    time.sleep(20)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_worker_killed_mid_delivery_is_recovered_by_the_sweeper(app, api, make_user):
    network = SlowNetwork()
    app.config.update(NETWORK_ADAPTER="webhook", NETWORK_URL=network.url)
    api.reports(report_payload("r1", "p1", reason="spam", post=post_payload("p1", "buy followers now")))
    run_worker_burst(app)  # scoring
    for i in range(3):
        juror = make_user(f"juror{i}")
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "remove", "spam")
    assert queued(app, "actions") == 1  # the verdict's follow-up, which delivers its actions itself
    worker = subprocess.Popen([flask_bin(), "--app", "wsgi", "worker", "--burst"], cwd=ROOT,
                              env=worker_env(app), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    assert network.hang.wait(60), "the worker never reached the network"
    # The worker dies mid-request, its follow-up committed, the removal in flight, the notice next.
    for pid in [worker.pid, *descendants(worker.pid)]:
        os.kill(pid, signal.SIGKILL)
    worker.wait(10)
    assert db.session.scalar(select(Verdict.followed_up_at)) is not None
    actions = db.session.scalars(select(Action).order_by(Action.id)).all()
    remove, notify, warning = actions  # the author's first strike calls for a warning
    assert [(a.type, a.state) for a in actions] == [
        ("remove_post", "sending"), ("notify", "sending"), ("warn_account", "sending")]
    # Later, the sweeper finds the stale claims and queues them all again.
    db.session.execute(update(Action).values(enqueued_at=utcnow() - sweeper.LOST_AFTER - timedelta(seconds=1)))
    db.session.commit()
    assert sweeper.requeue_actions() == 3
    run_worker_burst(app)
    db.session.expire_all()
    assert {a.state for a in db.session.scalars(select(Action))} == {"sent"}
    # The network saw the removal's idempotency key twice and can apply it once; the others once.
    assert sorted(network.deliveries) == sorted(
        [remove.idempotency_key] * 2 + [notify.idempotency_key, warning.idempotency_key])
    network.server.shutdown()


def test_scoring_jobs_coalesce_and_take_every_post_waiting(app, api):
    from triage import intake, jobs

    for batch in range(3):  # three intake requests while no worker runs: one job waits for all
        api.posts(*(post_payload(f"p{batch}-{i}", "lovely day") for i in range(4)))
    assert queued(app, "scoring") == 1
    run_worker_burst(app)
    assert db.session.scalar(select(func.count()).select_from(Post).where(Post.scored_at.is_(None))) == 0
    # Once a job has started, new posts queue the next one.
    jobs.take_coalesced(intake.WAITING_JOB)
    api.posts(post_payload("late", "lovely day"))
    assert queued(app, "scoring") == 1


def _wait_until_scored(log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while db.session.scalar(select(func.count()).select_from(Post).where(Post.scored_at.is_(None))):
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)
        db.session.rollback()


@pytest.mark.parametrize("linger", [1.5, 0.0])
def test_a_scoring_job_lingers_so_posts_arriving_together_share_one_batch(app, api, processes, tmp_path, linger):
    log = tmp_path / "worker.log"
    processes.start("worker", env={**worker_env(app), "SCORING_LINGER_SECONDS": str(linger)}, log=log)
    api.posts(post_payload("warm-up", "lovely day"))  # the worker is up and has loaded the model
    _wait_until_scored(log)
    for batch in range(3):  # three intake requests, 0.3 s apart
        api.posts(*(post_payload(f"p{batch}-{i}", "lovely day") for i in range(4)))
        time.sleep(0.3)
    _wait_until_scored(log)
    # A batch marks its posts scored in one statement, with one timestamp.
    batches = db.session.scalar(select(func.count(func.distinct(Post.scored_at))).where(Post.external_id != "warm-up"))
    if linger:
        assert batches == 1
    else:  # each request's posts are taken as soon as they come
        assert batches >= 2


def test_two_scoring_jobs_at_once_split_the_waiting_posts(app, api):
    import psycopg

    from triage import intake

    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing is queued: this test runs the job itself
    api.posts(*(post_payload(pid, "lovely day") for pid in ("held", "free0", "free1", "free2")))
    assert db.session.scalar(select(func.count()).select_from(Post).where(Post.scored_at.is_(None))) == 4
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")
    with psycopg.connect(url) as other:
        other.execute("SELECT id FROM posts WHERE external_id = 'held' FOR UPDATE")  # another job's batch
        assert intake.score_waiting() == 3  # it does not wait for that post, nor score it
        scored = set(db.session.scalars(select(Post.external_id).where(Post.scored_at.is_not(None))))
        assert scored == {"free0", "free1", "free2"}
    assert intake.score_waiting() == 1  # released: the next job takes it
