"""Load test: jurors voting at a human pace and a steady signed intake stream, at once, end to end.

What runs, all on loopback: a fresh PostgreSQL database (created on the server, migrated with the
project's migrations, dropped at the end) seeded with --cases open cases; --jurors juror accounts;
`gunicorn wsgi:app`; --rq-workers `flask worker` processes that score the incoming posts and deliver
every action (queues scoring and actions) and `flask sweep --loop`, both under `nice -n 10`
(--nice-background), one more worker for the training queue under `nice -n 19` (--training-nice);
and, playing the social network, a local HTTP endpoint that
receives Jury's signed actions and applies each action_id once (a repeat answers 409).

For --seconds, every juror does what the keyboard screen does (--client screen): POST /cases/next and
GET the case page once, then think --think-min..--think-max seconds and POST the vote, whose JSON
answer brings the next case, over and over. --client forms plays a browser without JavaScript:
next case, case page, think, vote, home page, for every case. Meanwhile a paced stream sends
--intake-rate posts per second in signed batches of --intake-batch to POST /api/v1/posts, and
--report-rate reports per second (on posts just sent) to POST /api/v1/reports.

Afterwards it waits for the workers to finish (every post scored, every action delivered), then
checks: no vote lost (every vote answered with a redirect is stored, and nothing else is), no seat
dealt twice, no case over its panel or with negative open seats, one verdict per decided case,
every verdict with exactly one action of each expected type (a removal or none, one notice per
reporter), every delivered action applied exactly once by the network, none dead-lettered, every
accepted post stored, and the audit chain intact.

--find-max-pace repeats the run in steps of --step-seconds, each with jurors thinking 1.5x less
than the last, until the p99 of a juror endpoint passes --target-ms; it reports the highest pace held.
When the first pace already misses the target, the steps go the other way (1.5x more thinking each)
until one holds.

Prints one JSON object on stdout (latency p50/p90/p99/max per endpoint). Exit status: 0 the run
completed (targets met or not, and the workers caught up or not: see "drain"), 1 the run itself failed,
2 a consistency check failed.

    .venv/bin/python benchmarks/load.py [--seconds 120] [--jurors 200] [--intake-rate 200]
    .venv/bin/python benchmarks/load.py --find-max-pace [--step-seconds 30]
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import common
import dealing
import psycopg
import requests
from redis.exceptions import RedisError

from network.signing import SIGNATURE_HEADER, SignatureError, sign, verify

TARGET_P99_MS = 150.0
IN_FLIGHT = 8  # intake requests at once at most, as a network's sender pool would
JUROR_ENDPOINTS = ("next_case", "case_page", "vote", "home_page")
WEBHOOK_SECRET = "bench-webhook-secret"  # common.app_environment's NETWORK_WEBHOOK_SECRET
THREATS = ("I know where you live and I will hurt you tonight", "you are a worthless idiot and everyone hates you",
           "buy cheap followers now click this link")


# --- the network's side: receives actions, applies each action_id once -----------------------------

class Network:
    """A local endpoint of the webhook contract that counts what it applied, by action_id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.applied: dict[str, int] = {}
        self.repeats = 0
        self.bad_signatures = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    verify(WEBHOOK_SECRET, body, self.headers.get(SIGNATURE_HEADER))
                except SignatureError:
                    with outer.lock:
                        outer.bad_signatures += 1
                    return self._answer(401)
                key = self.headers.get("Idempotency-Key", "")
                with outer.lock:
                    first = key not in outer.applied
                    outer.applied[key] = 1
                    outer.repeats += 0 if first else 1
                self._answer(200 if first else 409)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, name="network", daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()


# --- the intake stream ---------------------------------------------------------------------------

class IntakeStream:
    """Signed post (and report) batches sent on a fixed schedule by a small pool of connections."""

    def __init__(self, base_url: str, rate: float, batch: int, report_rate: float, seed: int, first_id: int = 0):
        self.base = base_url
        self.first_id = first_id
        self.interval = batch / rate
        self.batch = batch
        self.report_rate = report_rate
        self.rng = random.Random(seed)
        self.latencies: dict[str, list[float]] = {"intake_posts": [], "intake_reports": []}
        self.counts: dict[str, int] = {}
        self.accepted_posts: list[str] = []
        self.lock = threading.Lock()
        self.local = threading.local()
        self.next_post = first_id
        self.next_report = first_id
        self.late_s = 0.0
        self.seconds = 0.0
        self.slots = threading.BoundedSemaphore(IN_FLIGHT)

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def _count(self, what: str) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def _send(self, kind: str, path: str, payload: dict, post_ids: list[str]) -> None:
        try:
            self._send_once(kind, path, payload, post_ids)
        finally:
            self.slots.release()

    def _send_once(self, kind: str, path: str, payload: dict, post_ids: list[str]) -> None:
        body = json.dumps(payload).encode()
        headers = {SIGNATURE_HEADER: sign(common.INTAKE_SECRET, body), "Content-Type": "application/json"}
        start = time.perf_counter()
        try:
            response = self._session().post(self.base + path, data=body, headers=headers, timeout=60)
        except requests.RequestException as error:
            self._count(f"{kind}_error_{type(error).__name__}")
            return
        elapsed = time.perf_counter() - start
        with self.lock:
            self.latencies[kind].append(elapsed)
            if response.status_code == 202:
                self.accepted_posts.extend(post_ids)
        self._count(f"{kind}_http_{response.status_code}")

    def _post_batch(self) -> tuple[dict, list[str]]:
        with self.lock:
            first, self.next_post = self.next_post, self.next_post + self.batch
        posts = []
        for n in range(first, first + self.batch):
            text = (self.rng.choice(THREATS) if self.rng.random() < 0.03
                    else " ".join(self.rng.choice(dealing.WORDS) for _ in range(self.rng.randint(5, 30))))
            posts.append({"id": f"load-{n}", "author_id": f"user-{self.rng.randint(1, dealing.NETWORK_USERS)}",
                          "text": text, "lang": "en"})
        return {"posts": posts}, [p["id"] for p in posts]

    def _report_batch(self, count: int) -> dict:
        with self.lock:
            sent = self.next_post
            first, self.next_report = self.next_report, self.next_report + count
        # Reports on posts sent a few batches ago, so they are stored (or carried along when not).
        reports = []
        for n in range(first, first + count):
            target = self.rng.randint(max(self.first_id, sent - 20 * self.batch),
                                      max(self.first_id, sent - 2 * self.batch))
            reports.append({"id": f"load-r-{n}", "post_id": f"load-{target}",
                            "reporter_id": f"user-{self.rng.randint(1, dealing.NETWORK_USERS)}",
                            "reason": self.rng.choice(("spam", "harassment", "hate", "violence_threat")),
                            "post": {"id": f"load-{target}", "author_id": "user-1", "text": "reported post"}})
        return {"reports": reports}

    def run(self, seconds: float) -> None:
        """Send on schedule for `seconds`; a batch due while others are in flight goes out on its own connection."""
        started = time.monotonic()
        due = started
        reports_owed = 0.0
        with ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="intake") as pool:
            while True:
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                elif now - due > self.interval:
                    self.late_s = max(self.late_s, now - due)
                if due - started >= seconds:
                    break
                due += self.interval
                if not self.slots.acquire(blocking=False):
                    # Every connection is busy: the server is not keeping up. Skipping (and counting)
                    # keeps the schedule; queueing would pile up requests past the end of the run.
                    self._count("intake_posts_skipped_server_behind")
                    continue
                payload, ids = self._post_batch()
                pool.submit(self._send, "intake_posts", "/api/v1/posts", payload, ids)
                reports_owed += self.report_rate * self.interval
                if reports_owed >= 1 and self.next_post > self.first_id + 2 * self.batch:
                    n = int(reports_owed)
                    reports_owed -= n
                    if self.slots.acquire(blocking=False):
                        pool.submit(self._send, "intake_reports", "/api/v1/reports", self._report_batch(n), [])
        self.seconds = time.monotonic() - started

    def summary(self) -> dict:
        """Rates, outcomes and latency of the stream."""
        seconds = self.seconds
        return {
            "seconds": round(seconds, 2),
            "posts_sent": self.next_post - self.first_id,
            "posts_accepted": len(self.accepted_posts),
            "posts_per_s": round(len(self.accepted_posts) / seconds, 1) if seconds else None,
            "reports_sent": self.next_report - self.first_id,
            "most_behind_schedule_s": round(self.late_s, 3),
            "outcomes": dict(sorted(self.counts.items())),
            "latency": {k: common.latency_summary(v) for k, v in self.latencies.items() if v},
        }


# --- accounts and processes ------------------------------------------------------------------------

def create_jurors(app, count: int) -> list[str]:
    """Juror accounts through the app's own service, with a cheap password hash.

    Logins are not measured, and hundreds of scrypt hashes and checks would cost minutes of CPU
    on a small machine before the run even starts.
    """
    from unittest import mock

    from werkzeug.security import generate_password_hash

    cheap = generate_password_hash(dealing.PASSWORD, method="pbkdf2:sha256:1000")
    with mock.patch("jury.jurors.users.generate_password_hash", lambda _password: cheap):
        return dealing.create_jurors(app, count)


def _cpu_with_reaped_children(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and of its children that have exited), from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), sum(int(v) for v in fields[11:15]) / common._CLK_TCK


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds used so far by these processes and all their descendants, live or exited
    (an RQ worker forks a process per job)."""
    stats = {int(e.name): _cpu_with_reaped_children(int(e.name)) for e in Path("/proc").iterdir() if e.name.isdigit()}
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        if stat is not None:
            children.setdefault(stat[0], []).append(pid)
    total, todo = 0.0, list(pids)
    while todo:
        pid = todo.pop()
        if stats.get(pid) is not None:
            total += stats[pid][1]
        todo.extend(children.get(pid, []))
    return total


class Background:
    """RQ workers and the sweeper as `flask` processes with logs, stopped at the end."""

    def __init__(self, env: dict, nice: int = 0) -> None:
        self.env = env
        self.nice = nice
        self.processes: list[subprocess.Popen] = []
        self.log = tempfile.NamedTemporaryFile(prefix="jury-load-workers-", suffix=".log", delete=False)

    def start(self, *args: str, nice: int | None = None) -> None:
        """Start `flask --app wsgi ARGS` (under `nice -n NICE`, the processes' own level by default)."""
        flask = str(Path(sys.executable).parent / "flask")
        level = self.nice if nice is None else nice
        niced = ["nice", "-n", str(level)] if level else []
        process = subprocess.Popen([*niced, flask, "--app", "wsgi", *args], cwd=common.ROOT, env=self.env,
                                   stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        if level:
            common.set_autogroup_nice(process.pid, level)
        self.processes.append(process)

    def error_lines(self) -> list[str]:
        """Lines of the workers' log that report an error or traceback."""
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace").splitlines()
        return [line for line in text if "Traceback" in line or " ERROR " in line]

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL)."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def workers_ready(redis_url: str, count: int) -> bool:
    """Whether `count` RQ workers have registered (each loads the model first)."""
    from redis import Redis
    from rq import Worker

    with Redis.from_url(redis_url) as connection:
        return len(Worker.all(connection=connection)) >= count


def backlog(db_url: str) -> dict:
    """Work the workers still owe: unscored posts and undelivered actions."""
    with psycopg.connect(db_url) as conn:
        unscored, undelivered, dead = conn.execute("""SELECT
            (SELECT count(*) FROM posts WHERE scored_at IS NULL),
            (SELECT count(*) FROM actions WHERE state IN ('pending', 'failed', 'sending')),
            (SELECT count(*) FROM actions WHERE state = 'dead')""").fetchone()
        # A verdict's actions are created by its follow-up job: until it runs they are not in the table.
        unfollowed = conn.execute("SELECT count(*) FROM verdicts WHERE followed_up_at IS NULL").fetchone()[0]
        # Events the sweeper's sealer has not chained yet (it runs every AUDIT_SEAL_SECONDS).
        unsealed = conn.execute("SELECT count(*) FROM audit_events WHERE seq IS NULL").fetchone()[0]
    return {"unscored_posts": unscored, "undelivered_actions": undelivered, "dead_actions": dead,
            "verdicts_not_followed_up": unfollowed, "audit_events_unsealed": unsealed}


def drain(db_url: str, seconds: float) -> dict:
    """Wait until every post is scored, every action delivered and every event sealed (or the time is up)."""
    started = time.monotonic()
    at_start = None
    while True:
        left = backlog(db_url)
        at_start = at_start or left
        done = not any(left[key] for key in ("unscored_posts", "undelivered_actions", "verdicts_not_followed_up",
                                             "audit_events_unsealed"))
        if done or time.monotonic() - started > seconds:
            return {**left, "seconds": round(time.monotonic() - started, 1), "when_the_run_ended": at_start}
        time.sleep(1)


# --- checks ----------------------------------------------------------------------------------------

ACTION_CHECKS = {
    # One of each type per verdict and account (a notice per reporter, one removal or unhide).
    "verdict_actions_duplicated": """
        SELECT count(*) FROM (SELECT 1 FROM actions WHERE verdict_id IS NOT NULL
                              GROUP BY verdict_id, type, account_external_id HAVING count(*) > 1) x""",
    "removals_without_remove_action": """
        SELECT count(*) FROM verdicts v WHERE v.outcome = 'remove' AND NOT EXISTS (
            SELECT 1 FROM actions a WHERE a.verdict_id = v.id AND a.type = 'remove_post')""",
    "keeps_with_remove_action": """
        SELECT count(*) FROM verdicts v WHERE v.outcome <> 'remove' AND EXISTS (
            SELECT 1 FROM actions a WHERE a.verdict_id = v.id AND a.type = 'remove_post')""",
    "verdicts_with_wrong_notice_count": """
        SELECT count(*) FROM verdicts v JOIN cases c ON c.id = v.case_id
        WHERE (SELECT count(*) FROM actions a WHERE a.verdict_id = v.id AND a.type = 'notify')
           <> (SELECT count(DISTINCT r.reporter_id) FROM reports r WHERE r.post_id = c.post_id)""",
    "interim_hides_duplicated": """
        SELECT count(*) FROM (SELECT 1 FROM actions WHERE verdict_id IS NULL AND type = 'hide_post'
                              GROUP BY case_id HAVING count(*) > 1) x""",
    "posts_scored_twice": """
        SELECT count(*) FROM (SELECT 1 FROM scores GROUP BY post_id, model_name, model_version
                              HAVING count(*) > 1) x""",
    # A dead letter is an action given up on; actions still waiting are backlog, reported by the drain.
    "actions_dead": "SELECT count(*) FROM actions WHERE state = 'dead'",
}


def check_actions(db_url: str, network: Network, accepted_posts: list[str]) -> dict:
    """Actions against the verdicts and the network's own count; accepted posts against the table."""
    with psycopg.connect(db_url) as conn:
        result = {name: conn.execute(sql).fetchone()[0] for name, sql in ACTION_CHECKS.items()}
        sent_keys = {row[0] for row in conn.execute("SELECT idempotency_key FROM actions WHERE state = 'sent'")}
        stored = {row[0] for row in conn.execute("SELECT external_id FROM posts WHERE external_id LIKE 'load-%'")}
        totals = dict(conn.execute("SELECT type, count(*) FROM actions GROUP BY type").fetchall())
        # Which model scored the posts (with SCORER=cascade: the share the encoder re-scored).
        by_model = dict(conn.execute("SELECT model_name, count(*) FROM scores GROUP BY model_name").fetchall())
    with network.lock:
        applied = set(network.applied)
    result["sent_actions_the_network_never_applied"] = len(sent_keys - applied)
    result["actions_applied_that_jury_did_not_send"] = len(applied - sent_keys)
    result["accepted_posts_not_stored"] = len(set(accepted_posts) - stored)
    result["network_bad_signatures"] = network.bad_signatures
    return {"violations": result, "actions_by_type": totals, "scores_by_model": by_model,
            "actions_applied_by_network": len(applied),
            "repeated_deliveries_answered_409": network.repeats,
            "failed": [name for name, value in result.items() if value]}


# --- the run ---------------------------------------------------------------------------------------

def juror_p99(phase: dict) -> float:
    """The worst p99 among the juror endpoints of a phase, in ms."""
    return max(phase["latency"][k]["p99_ms"] for k in JUROR_ENDPOINTS if k in phase["latency"])


def run_step(jurors, server, args, db_url, seconds: float, think: tuple[float, float], seed: int,
             worker_pids: list[int]) -> dict:
    """Jurors at the given think time and the intake stream, together, for `seconds`."""
    # Ids unique across steps.
    stream = IntakeStream(server.url, args.intake_rate, args.intake_batch, args.report_rate, seed, seed * 10_000_000)
    feeder = threading.Thread(target=stream.run, args=(seconds,), name="intake", daemon=True)
    workers_cpu = tree_cpu(worker_pids)
    feeder.start()
    phase = dealing.run_phase(jurors, seconds, think, think[1], server, db_url, args.db_name, args.client)
    feeder.join()
    # RQ workers and the sweeper are not gunicorn's children: cpu.other_cores includes them, and this.
    phase["cpu"]["rq_workers_and_sweeper_cores"] = round((tree_cpu(worker_pids) - workers_cpu) / phase["seconds"], 2)
    phase.pop("_votes")
    phase["think_seconds"] = [round(think[0], 3), round(think[1], 3)]
    phase["votes_per_juror_per_min"] = round(phase["voted"] / len(jurors) / (phase["seconds"] / 60), 2)
    phase["intake"] = stream.summary()
    phase["juror_p99_ms"] = juror_p99(phase)
    phase["intake_posts_p99_ms"] = phase["intake"]["latency"].get("intake_posts", {}).get("p99_ms")
    phase["_accepted_posts"] = stream.accepted_posts
    return phase


def run(args: argparse.Namespace) -> tuple[dict, bool]:
    """The whole load test; returns (result, checks passed)."""
    rng = random.Random(args.seed)
    load_before = common.load_average()
    env, app = common.start(args)
    db_url = env["DATABASE_URL"]
    network = Network()
    model_dir = tempfile.mkdtemp(prefix="jury-load-models-")
    env.update({"NETWORK_ADAPTER": "webhook", "NETWORK_URL": network.url, "MODEL_DIR": model_dir,
                "SCORER": args.scorer})
    if args.encoder_model:
        # SCORER=cascade or encoder: the encoder model of another model directory (train --preset encoder).
        shutil.copytree(Path(args.encoder_model) / "encoder", Path(model_dir) / "encoder")
    background = Background(env, args.nice_background)
    try:
        from classifiers import ensure_default_model

        ensure_default_model(model_dir)  # once here, not raced by every worker
        common.progress(f"seeding {args.cases} open cases")
        seeded = dealing.seed(db_url, args.cases, rng)
        common.progress(f"creating {args.jurors} jurors")
        names = create_jurors(app, args.jurors)
        common.dispose(app)

        for _ in range(args.rq_workers):
            background.start("worker", "--queue", "scoring", "--queue", "actions")
        # Retraining on the verdicts (the `training` queue) is a batch job of many CPU-seconds that
        # every RETRAIN_MIN_VERDICTS verdicts queue, at most once every RETRAIN_MIN_INTERVAL_MINUTES
        # (so not in a run at the defaults; RETRAIN_MIN_INTERVAL_MINUTES=0 in the environment retrains
        # every 200 verdicts, as before the interval). It runs on a worker of its own at the lowest
        # priority, as the README advises, so it takes the CPU the jurors and the stream leave.
        background.start("worker", "--queue", "training", nice=args.training_nice)
        background.start("sweep", "--loop", "--interval", "15")
        deadline = time.monotonic() + 120
        while not workers_ready(args.redis, args.rq_workers + 1):
            if time.monotonic() > deadline:
                raise common.BenchError(f"the RQ workers did not start:\n{background.error_lines()[-10:]}")
            time.sleep(0.5)

        common.progress(f"starting gunicorn ({args.workers} workers x {args.threads} threads)")
        with common.Gunicorn(env, args.workers, args.threads, args.app) as server:
            jurors = [dealing.Juror(server.url, name, args.seed * 1000 + i) for i, name in enumerate(names)]
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(dealing.Juror.login, jurors))
            common.progress(f"{len(jurors)} jurors logged in; warming up")
            warm = dealing.run_phase(jurors[:16], args.warmup_seconds, (0, 0), 0, server, db_url, args.db_name,
                                     args.client)
            warm.pop("_votes")

            steps = []
            accepted: list[str] = []
            think = (args.think_min, args.think_max)
            direction = None
            step_seconds = args.step_seconds if args.find_max_pace else args.seconds
            for step in range(1, (args.max_steps if args.find_max_pace else 1) + 1):
                common.progress(f"step {step}: {len(jurors)} jurors thinking {think[0]:.2f}-{think[1]:.2f} s, "
                                f"{args.intake_rate:g} posts/s, for {step_seconds:g} s")
                phase = run_step(jurors, server, args, db_url, step_seconds, think, args.seed + step,
                                 [p.pid for p in background.processes])
                accepted.extend(phase.pop("_accepted_posts"))
                steps.append(phase)
                common.progress(f"step {step}: {phase['voted_per_s']} votes/s, juror p99 {phase['juror_p99_ms']} ms, "
                                f"intake p99 {phase['intake_posts_p99_ms']} ms")
                # Faster while the target holds; from a first step that misses it, slower until one holds.
                held_now = phase["juror_p99_ms"] <= args.target_ms
                direction = direction or ("faster" if held_now else "slower")
                if held_now != (direction == "faster"):
                    break
                factor = 1.5 if direction == "faster" else 1 / 1.5
                think = (think[0] / factor, think[1] / factor)
            server_errors = server.error_lines()
            command = server.command

        common.progress("waiting for the workers to score every post and deliver every action")
        drained = drain(db_url, args.drain_seconds)
        drained["complete"] = not (drained["unscored_posts"] or drained["undelivered_actions"]
                                   or drained["verdicts_not_followed_up"] or drained["audit_events_unsealed"])
        common.progress(f"drained in {drained['seconds']} s: {drained}")
        votes_accepted = sum(j.votes_accepted for j in jurors)
        checks = dealing.check_database(db_url, app, votes_accepted)
        actions = check_actions(db_url, network, accepted)
        checks["failed"] += actions.pop("failed")
        checks["actions"] = actions
        checks["all_passed"] = not checks["failed"]
        checks["server_error_log_lines"] = len(server_errors)
        checks["worker_error_log_lines"] = len(background.error_lines())

        held = [s for s in steps if s["juror_p99_ms"] <= args.target_ms]
        first = steps[0]
        result = {
            "benchmark": "load",
            "mode": "find-max-pace" if args.find_max_pace else "fixed-pace",
            "jurors": len(jurors),
            "target_p99_ms": args.target_ms,
            "latency_ms": {k: {m: v.get(m) for m in ("count", "p50_ms", "p90_ms", "p99_ms", "max_ms")}
                           for k, v in {**first["latency"], **first["intake"]["latency"]}.items()},
            "meets_target_juror_p99": first["juror_p99_ms"] <= args.target_ms,
            "steps": steps,
            "highest_pace_held": ({"votes_per_s": held[-1]["voted_per_s"],
                                   "votes_per_juror_per_min": held[-1]["votes_per_juror_per_min"],
                                   "think_seconds": held[-1]["think_seconds"],
                                   "juror_p99_ms": held[-1]["juror_p99_ms"]} if held else None),
            "drain": drained,
            "checks": checks,
            "warmup": {"seconds": warm["seconds"], "voted": warm["voted"]},
            "config": {
                "server": " ".join(command), "client": args.client, "rq_workers": args.rq_workers,
                "nice_background": args.nice_background, "training_worker_nice": args.training_nice,
                "autogroup": common.autogroup_enabled(),
                "seed_data": seeded,
                "intake_rate_posts_per_s": args.intake_rate, "intake_batch": args.intake_batch,
                "report_rate_per_s": args.report_rate, "postgresql": common.server_settings(args.pg),
            },
            "machine": {**common.machine(), "load_average_before": load_before},
        }
        return result, checks["all_passed"]
    finally:
        background.stop()
        network.close()
        common.clean_up(app, args)


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run, print JSON; exit 1 if the run failed, 2 if a consistency check failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="length of the run (default: %(default)s)")
    parser.add_argument("--jurors", type=int, default=200, help="jurors, one client thread each (default: %(default)s)")
    parser.add_argument("--think-min", type=float, default=5, help="shortest think time, s (default: %(default)s)")
    parser.add_argument("--think-max", type=float, default=10, help="longest think time, s (default: %(default)s)")
    parser.add_argument("--intake-rate", type=float, default=200, help="posts per second (default: %(default)s)")
    parser.add_argument("--intake-batch", type=int, default=20, help="posts per request (default: %(default)s)")
    parser.add_argument("--report-rate", type=float, default=5, help="reports per second (default: %(default)s)")
    parser.add_argument("--cases", type=int, default=20_000, help="open cases to seed (default: %(default)s)")
    parser.add_argument("--rq-workers", type=int, default=2,
                        help="`flask worker` processes for the scoring and actions queues (default: %(default)s)")
    parser.add_argument("--nice-background", type=int, default=10, metavar="N",
                        help="run the RQ workers and the sweeper under `nice -n N` (and the same level for "
                             "their scheduler group), as the README's deployment puts jurors' requests "
                             "first; 0 for none (default: %(default)s)")
    parser.add_argument("--training-nice", type=int, default=19, metavar="N",
                        help="nice level of the worker that serves the training queue (default: %(default)s)")
    parser.add_argument("--target-ms", type=float, default=TARGET_P99_MS,
                        help="p99 target of every juror endpoint (default: %(default)s)")
    parser.add_argument("--find-max-pace", action="store_true",
                        help="raise the juror pace 1.5x per step until a juror p99 passes --target-ms (from a "
                             "first pace that already misses it, lower it 1.5x per step until one holds)")
    parser.add_argument("--step-seconds", type=float, default=30, help="length of a pace step (default: %(default)s)")
    parser.add_argument("--max-steps", type=int, default=8, help="most pace steps (default: %(default)s)")
    parser.add_argument("--warmup-seconds", type=float, default=3, help="uncounted warm-up (default: %(default)s)")
    parser.add_argument("--scorer", choices=("sklearn", "cascade", "encoder"), default="sklearn",
                        help="SCORER of the workers (default: %(default)s; cascade and encoder need --encoder-model)")
    parser.add_argument("--encoder-model", metavar="MODEL_DIR",
                        help="a model directory whose encoder/ folder holds an encoder model to copy in")
    parser.add_argument("--drain-seconds", type=float, default=300,
                        help="longest wait for the workers to catch up afterwards (default: %(default)s)")
    dealing.add_client_argument(parser)
    common.add_common_arguments(parser)
    parser.set_defaults(db_name="jury_load", redis="redis://127.0.0.1:6379/13")
    args = parser.parse_args(argv)
    if args.scorer != "sklearn" and not args.encoder_model:
        parser.error(f"--scorer {args.scorer} needs --encoder-model")
    if args.jurors < 1 or args.cases < 1 or not 0 <= args.think_min <= args.think_max or args.intake_rate <= 0:
        parser.error("need jurors >= 1, cases >= 1, 0 <= think-min <= think-max, intake-rate > 0")
    common.install_signal_handlers()
    try:
        dealing.open_trace(args.trace)
        result, passed = run(args)
    except (common.BenchError, psycopg.Error, requests.RequestException, RedisError, OSError) as error:
        print(f"load test failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    common.emit(result)
    return 0 if passed else 2


if __name__ == "__main__":
    sys.exit(main())
