"""Dealing and voting latency and throughput: jurors over real HTTP against 100,000 open cases.

What runs: a fresh PostgreSQL database migrated with the project's migrations and seeded in bulk
(COPY) with N reported posts, their reports and their open first-round cases (priorities spread
as the app computes them); J juror accounts made with `jury.jurors.users.create_user`, each with its own
network account (some seeded posts are theirs, or reported by them, so the exclusion rules are
exercised); `gunicorn wsgi:app` (2 workers x 4 threads by default) with REDIS_URL set, so the
follow-up jobs of the verdicts wait on Redis (no worker runs).

Each juror logs in through the real form and reads its CSRF token from the page (CSRF stays on).
Then, after a short uncounted warm-up:

(a) human pace: every juror works for --human-seconds as the keyboard screen does (--client screen):
    POST /cases/next (302 to the case) and GET the case page once, then for each case think 5-10 s
    and POST /cases/<id>/vote (keep, or remove under 'spam') with `Accept: application/json`; the
    JSON answer carries the next case dealt, and the loop goes on with it. With --client forms the
    loop is a browser without JavaScript: next case, case page, think, vote (302 to home), home
    page, for every case. Jurors start spread over the first 10 s. The latency of every request is
    recorded by kind. Target: p99 <= 25 ms for "next case" and for "vote".
(b) flat out: --flat-threads jurors run the same loop with no pause for --flat-seconds; reports
    cases dealt and voted per second.

Latency is the client's wall time for one request, on its own TCP connection (`Connection: close`,
as nginx proxies to gunicorn by default); redirects are not followed inside it.

Then the database is checked: no (case, juror) seat dealt twice, no case with more live or voted
seats than its panel, open seats adding up, every vote backed by a voted seat and vice versa, no
vote lost (votes the clients saw accepted = votes stored), no juror dealt their own or a reported-
by-them post, one verdict per decided case, and the audit chain intact.

Prints one JSON object on stdout. Exit status: 0 when the run completed (targets met or not, that
is in the JSON), 1 when the run itself failed, 2 when a database consistency check failed.

    .venv/bin/python benchmarks/dealing.py [--cases 100000] [--jurors 50] [--human-seconds 60]
                                           [--flat-seconds 20] [--flat-threads 50]
"""
from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import common
import psycopg
import requests
from redis.exceptions import RedisError

TARGET_P99_MS = 25.0
# How the jurors' browsers talk to Jury. "screen": the keyboard screen (static/jury.js) that every
# juror gets, where a vote is one fetch whose JSON answer carries the next case, swapped in without
# a page load: after the first case, one request per case. "forms": a browser without JavaScript,
# where a vote redirects home: POST /cases/next, GET the case, POST the vote, GET home.
CLIENTS = ("screen", "forms")
PASSWORD = "bench-password-123"
CASE_PATH = re.compile(r"/cases/(\d+)$")
VOTE_PATH = re.compile(r"/cases/(\d+)/vote")
WORDS = ("you", "people", "like", "this", "never", "again", "vote", "city", "police", "tonight", "buy", "now",
         "cheap", "free", "click", "link", "watch", "they", "should", "be", "ashamed", "go", "back", "truth")
NETWORK_USERS = 20_000  # authors and reporters are drawn from user-1 .. user-20000; jurors are user-1 .. user-J


# --- seeding -------------------------------------------------------------------------------

def seed(db_url: str, cases: int, rng: random.Random) -> dict:
    """Bulk-load posts, reports and open cases with COPY; returns counts and timing."""
    from models.rules import RULE_CODES
    from triage import priority as prio
    from triage.policy import DEFAULT_SETTINGS, PolicyInForce

    start = time.perf_counter()
    now = datetime.now(UTC)
    with psycopg.connect(db_url) as conn:
        version, settings = conn.execute(
            "SELECT version, settings FROM policies ORDER BY version DESC LIMIT 1").fetchone()
        policy = PolicyInForce(version, settings or DEFAULT_SETTINGS)
        weights = policy.settings["priority_weights"]
        report_id = 0
        with conn.cursor() as cur:
            with cur.copy("COPY posts (id, external_id, author_id, text, received_at, state, content_hash, "
                          "scored_at, score_requested_at) FROM STDIN") as copy:
                for post_id in range(1, cases + 1):
                    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 40)))
                    received = now - timedelta(seconds=rng.uniform(0, 48 * 3600))
                    copy.write_row((post_id, f"seed-{post_id}", f"user-{rng.randint(1, NETWORK_USERS)}", text,
                                    received, "visible", hashlib.sha256(text.encode()).hexdigest(),
                                    received, received))
            case_rows = []
            with cur.copy("COPY reports (id, external_id, post_id, reporter_id, reason, received_at) "
                          "FROM STDIN") as copy:
                for post_id in range(1, cases + 1):
                    reasons = [rng.choice(RULE_CODES) for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 5)))]
                    opened = now - timedelta(seconds=rng.uniform(0, 24 * 3600))
                    for reason in reasons:
                        report_id += 1
                        copy.write_row((report_id, f"seed-r-{report_id}", post_id,
                                        f"user-{rng.randint(1, NETWORK_USERS)}", reason, opened))
                    severity = prio.case_severity(reasons, None)
                    base = prio.base_priority(severity, len(reasons), weights)
                    sla_s = policy.sla_hours(severity) * 3600
                    age = prio.age_fraction((now - opened).total_seconds(), sla_s)
                    case_rows.append((post_id, post_id, 0, "reported", "queued", severity, len(reasons), base,
                                      prio.priority(base, age, weights), policy.panel_size, policy.panel_size,
                                      policy.version, opened, opened + timedelta(seconds=sla_s), 0))
            with cur.copy("COPY cases (id, post_id, review_round, origin, state, severity, report_count, "
                          "base_priority, priority, panel_size, open_seats, policy_version, opened_at, "
                          "sla_deadline, lock_version) FROM STDIN") as copy:
                for row in case_rows:
                    copy.write_row(row)
            for table in ("posts", "reports", "cases"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE posts, reports, cases")
    return {"posts": cases, "reports": report_id, "cases": cases, "panel_size": policy.panel_size,
            "seconds": round(time.perf_counter() - start, 1)}


def create_jurors(app, count: int) -> list[str]:
    """Juror accounts through the app's own service (hashed passwords, audit events)."""
    from jury.jurors import users
    from models import db

    names = [f"juror{i:03d}" for i in range(1, count + 1)]
    with app.app_context():
        for i, name in enumerate(names, start=1):
            users.create_user(name, PASSWORD, "juror", network_account_id=f"user-{i}")
        db.session.remove()
    return names


# --- the jurors' HTTP clients ----------------------------------------------------------------

# --trace FILE: one line per juror request ("unix-time endpoint ms"), so slow requests can be lined
# up afterwards with what the machine did at that second (vmstat's steal column, the access log).
_trace: list = []  # the open file, when tracing


def open_trace(path: str | None) -> None:
    """Write every juror request's end time, endpoint and latency to `path` from now on."""
    if path:
        _trace.append(open(path, "w", encoding="utf-8", buffering=1))  # noqa: SIM115 (open for the run)


@dataclass
class Recorder:
    """Thread-safe latency lists and outcome counters for one phase."""

    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {"next_case": [], "case_page": [], "vote": [], "home_page": []})
    counts: dict[str, int] = field(default_factory=dict)
    votes: list[tuple[int, str, float]] = field(default_factory=list)  # (case id, juror, seconds)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float) -> None:
        """Record one request's latency."""
        with self.lock:
            self.latencies[kind].append(seconds)
            if _trace:
                _trace[0].write(f"{time.time():.3f} {kind} {seconds * 1000:.1f}\n")

    def count(self, what: str, n: int = 1) -> None:
        """Count an outcome."""
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n


class Juror:
    """One logged-in juror: a keep-alive session and the CSRF token of its session."""

    def __init__(self, base_url: str, username: str, seed: int):
        self.base = base_url
        self.username = username
        self.session = requests.Session()
        # One connection per request, as nginx talks to gunicorn by default. Kept-alive connections
        # would sit idle through the think time and be closed by gunicorn (2 s keep-alive) just as
        # the next request goes out on them: a reset a browser retries but a benchmark must not.
        self.session.headers["Connection"] = "close"
        self.rng = random.Random(seed)
        self.token = ""
        self.dealt: set[int] = set()
        self.redealt = 0
        self.votes_accepted = 0

    def login(self) -> None:
        """Log in through the form, then read the CSRF token from the home page."""
        page = self.session.get(self.base + "/login", timeout=30)
        data = {"username": self.username, "password": PASSWORD, "csrf_token": common.csrf_token(page.text)}
        response = self.session.post(self.base + "/login", data=data, allow_redirects=False, timeout=60)
        if response.status_code != 302:
            raise common.BenchError(f"login of {self.username} answered {response.status_code}")
        home = self.session.get(self.base + "/", timeout=30)
        if home.status_code != 200:
            raise common.BenchError(f"home page of {self.username} answered {home.status_code}")
        self.token = common.csrf_token(home.text)

    def next_case(self, rec: Recorder) -> int | None:
        """POST /cases/next; the dealt case id, or None."""
        start = time.perf_counter()
        response = self.session.post(self.base + "/cases/next", data={"csrf_token": self.token},
                                     allow_redirects=False, timeout=60)
        rec.add("next_case", time.perf_counter() - start)
        if response.status_code != 302:
            rec.count(f"next_case_http_{response.status_code}")
            return None
        match = CASE_PATH.search(response.headers.get("Location", ""))
        if not match:
            rec.count("next_case_none_available")
            return None
        case_id = int(match.group(1))
        self._dealt(case_id, rec)
        return case_id

    def _dealt(self, case_id: int, rec: Recorder) -> None:
        rec.count("dealt")
        if case_id in self.dealt:
            # Only legitimate when the previous vote failed and the lease is handed back.
            self.redealt += 1
        self.dealt.add(case_id)

    def case_page(self, case_id: int, rec: Recorder) -> None:
        """GET the case page, as the juror reads it."""
        start = time.perf_counter()
        response = self.session.get(f"{self.base}/cases/{case_id}", timeout=60)
        rec.add("case_page", time.perf_counter() - start)
        if response.status_code != 200:
            rec.count(f"case_page_http_{response.status_code}")

    def vote(self, case_id: int, rec: Recorder, screen: bool = False) -> int | None:
        """POST the vote: mostly keep, sometimes remove as spam.

        As a plain form (302 to home), or as the keyboard screen sends it (`screen`: JSON that
        carries the next case dealt, whose id is returned).
        """
        data = {"csrf_token": self.token, "decision": "keep"}
        if self.rng.random() < 0.3:
            data.update(decision="remove", rule="spam")
        headers = {"Accept": "application/json"} if screen else {}
        start = time.perf_counter()
        response = self.session.post(f"{self.base}/cases/{case_id}/vote", data=data, headers=headers,
                                     allow_redirects=False, timeout=60)
        elapsed = time.perf_counter() - start
        rec.add("vote", elapsed)
        if response.status_code != (200 if screen else 302):
            rec.count(f"vote_http_{response.status_code}")
            return None
        with rec.lock:
            rec.votes.append((case_id, self.username, elapsed))
        rec.count("voted")
        self.votes_accepted += 1
        if not screen:
            return None
        answer = response.json()
        next_id = answer.get("case_id")
        if next_id is None:
            rec.count("next_case_none_available")
            return None
        if "<article" not in answer.get("html", ""):
            raise common.BenchError(f"the vote's answer carried case {next_id} without its page")
        self._dealt(int(next_id), rec)
        return int(next_id)

    def home(self, rec: Recorder) -> None:
        """GET the home page the vote redirects to, as a browser does (it also shows and clears the flash)."""
        start = time.perf_counter()
        response = self.session.get(self.base + "/", timeout=60)
        rec.add("home_page", time.perf_counter() - start)
        if response.status_code != 200:
            rec.count(f"home_page_http_{response.status_code}")


class LockSampler:
    """Samples pg_stat_activity every 100 ms: what our database's busy backends are doing or waiting on.

    `Lock:advisory` is the audit chain's lock, `Lock:transactionid`/`Lock:tuple` are row locks,
    `idle in transaction` is a backend holding its locks while the app computes between statements.
    """

    QUERY = """SELECT state || '/' || coalesce(wait_event_type || ':' || wait_event, 'running'), count(*)
               FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND backend_type = 'client backend' AND state IN ('active', 'idle in transaction')
               GROUP BY 1"""

    def __init__(self, db_url: str):
        self.db_url = db_url
        self.totals: dict[str, int] = {}
        self.samples = 0
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lock-sampler", daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self.stop_event.wait(0.1):
                for key, n in conn.execute(self.QUERY).fetchall():
                    self.totals[key] = self.totals.get(key, 0) + n
                self.samples += 1

    def __enter__(self) -> LockSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.thread.join(5)

    def summary(self) -> dict:
        """Average number of backends in each state over the samples."""
        if not self.samples:
            return {}
        averages = {k: round(v / self.samples, 2) for k, v in sorted(self.totals.items(), key=lambda kv: -kv[1])}
        return {"samples": self.samples, "average_backends": averages}


def request_kind(method: str, path: str) -> str | None:
    """The benchmark's name for a logged request, or None for requests it does not time."""
    if method == "POST" and path == "/cases/next":
        return "next_case"
    if method == "POST" and VOTE_PATH.fullmatch(path):
        return "vote"
    if method == "GET" and CASE_PATH.fullmatch(path):
        return "case_page"
    if method == "GET" and path == "/":
        return "home_page"
    return None


def server_latency(server: common.Gunicorn, start: int, end: int) -> dict:
    """Latency as gunicorn measured it (request read to response written), by kind of request."""
    by_kind: dict[str, list[float]] = {}
    slowest: list[tuple[float, str, int]] = []
    for method, path, _status, seconds, pid in server.server_times(start, end):
        kind = request_kind(method, path)
        if kind:
            by_kind.setdefault(kind, []).append(seconds)
            slowest.append((seconds, kind, pid))
    summary: dict = {kind: common.latency_summary(values) for kind, values in sorted(by_kind.items())}
    # Which requests make the tail, and whether they bunch on one worker.
    summary["slowest"] = [{"kind": kind, "ms": round(seconds * 1000, 2), "worker_pid": pid}
                          for seconds, kind, pid in sorted(slowest, reverse=True)[:8]]
    return summary


def add_client_argument(parser: argparse.ArgumentParser) -> None:
    """--client: which juror browser the benchmark plays (see CLIENTS); --trace: where requests are logged."""
    parser.add_argument("--client", choices=CLIENTS, default="screen",
                        help="screen: the keyboard screen, one fetch per vote that brings the next case; forms: "
                             "no JavaScript, next case -> case page -> vote -> home (default: %(default)s)")
    parser.add_argument("--trace", metavar="FILE",
                        help="write one line per juror request to FILE: unix time it ended, endpoint, ms")


def run_phase(jurors: list[Juror], seconds: float, think: tuple[float, float], stagger: float,
              server: common.Gunicorn, db_url: str, db_name: str, client: str = "screen") -> dict:
    """Every juror works through cases until the time is up, as the chosen client does (see CLIENTS)."""
    if client not in CLIENTS:
        raise ValueError(f"client must be one of {', '.join(CLIENTS)}")
    rec = Recorder()
    errors: list[str] = []
    started = time.monotonic()
    deadline = started + seconds

    def loop(juror: Juror) -> None:
        try:
            if stagger:
                time.sleep(juror.rng.uniform(0, stagger))
            case_id = None
            while time.monotonic() < deadline:
                if case_id is None:
                    case_id = juror.next_case(rec)
                    if case_id is None:
                        time.sleep(0.5)
                        continue
                    juror.case_page(case_id, rec)
                if think[1] > 0:
                    time.sleep(juror.rng.uniform(*think))
                # The seat is always voted, even past the deadline, so no lease is left hanging; the
                # last vote of the run goes as a plain form, which deals nothing more.
                screen = client == "screen" and time.monotonic() < deadline
                case_id = juror.vote(case_id, rec, screen=screen)
                if not screen:
                    juror.home(rec)
                    case_id = None
            if case_id is not None:  # dealt by a vote just before the deadline
                juror.vote(case_id, rec)
                juror.home(rec)
        except Exception as error:  # noqa: BLE001 - reported, and fails the run below
            errors.append(f"{juror.username}: {type(error).__name__}: {error}")

    server_pid = server.pid
    log_start = server.access_log_offset()
    cpu_before = common.cpu_snapshot(server_pid, db_name)
    with LockSampler(db_url) as sampler:
        threads = [threading.Thread(target=loop, args=(j,), name=j.username, daemon=True) for j in jurors]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - started
    cpu = common.cpu_usage(cpu_before, common.cpu_snapshot(server_pid, db_name), wall)
    time.sleep(0.2)  # let the workers' access-log lines of the last requests land
    in_server = server_latency(server, log_start, server.access_log_offset())
    if errors:
        raise common.BenchError(f"{len(errors)} juror threads failed, first: {errors[0]}")
    dealt, voted = rec.counts.get("dealt", 0), rec.counts.get("voted", 0)
    if dealt == 0 or voted == 0:
        raise common.BenchError(f"nothing was dealt or voted: {rec.counts}")
    return {
        "jurors": len(jurors),
        "client": client,
        "seconds": round(wall, 2),
        "dealt": dealt,
        "voted": voted,
        "dealt_per_s": round(dealt / wall, 1),
        "voted_per_s": round(voted / wall, 1),
        "outcomes": dict(sorted(rec.counts.items())),
        "latency": {kind: common.latency_summary(values) for kind, values in rec.latencies.items() if values},
        "latency_in_server": in_server,
        "cpu": cpu,
        "database_activity": sampler.summary(),
        "_votes": rec.votes,
    }


def warm_up(server: common.Gunicorn, jurors: list[Juror], seconds: float, db_url: str, db_name: str,
            client: str) -> dict:
    """Flat-out rounds of 2 s, at least `seconds` in all, until every worker has served a few dozen
    requests: a worker's first requests pay one-off costs (imports, compiled statements, caches,
    connections), reported here, not in the phases."""
    rounds = []
    spent = 0.0
    while spent < 60 and (spent < seconds or not server.workers_loaded()):
        figures = run_phase(jurors, 2.0, (0, 0), 0, server, db_url, db_name, client)
        figures.pop("_votes")
        spent += figures["seconds"]
        rounds.append({"seconds": figures["seconds"], "dealt": figures["dealt"],
                       "max_ms": {k: v["max_ms"] for k, v in figures["latency"].items()}})
    warm = server.workers_loaded()
    common.progress(f"warm-up: {len(rounds)} rounds, {spent:.1f} s, all workers warm: {warm}")
    return {"jurors": len(jurors), "seconds": round(spent, 1), "all_workers_warm": warm, "rounds": rounds}


def split_votes(db_url: str, phase: dict) -> None:
    """Add the latency of votes that completed a panel (and so recorded the verdict and queued its
    actions) apart from the other votes; the vote log leaves the phase's figures."""
    votes = phase.pop("_votes")
    with psycopg.connect(db_url) as conn:
        deciding = set(conn.execute("""
            SELECT v.case_id, u.username FROM votes v JOIN users u ON u.id = v.juror_id
            WHERE v.id = (SELECT max(w.id) FROM votes w WHERE w.case_id = v.case_id)
            AND EXISTS (SELECT 1 FROM verdicts x WHERE x.case_id = v.case_id)""").fetchall())
    phase["latency"]["vote_that_decided_the_case"] = common.latency_summary(
        t for case_id, juror, t in votes if (case_id, juror) in deciding)
    phase["latency"]["vote_other"] = common.latency_summary(
        t for case_id, juror, t in votes if (case_id, juror) not in deciding)


# --- checks ----------------------------------------------------------------------------------

CHECKS = {
    "seats_dealt_twice": """
        SELECT count(*) FROM (SELECT 1 FROM assignments GROUP BY case_id, juror_id HAVING count(*) > 1) x""",
    "cases_over_panel": """
        SELECT count(*) FROM cases c JOIN (
            SELECT case_id, count(*) AS n FROM assignments WHERE state IN ('active', 'voted') GROUP BY case_id
        ) a ON a.case_id = c.id WHERE a.n > c.panel_size""",
    "open_cases_with_wrong_open_seats": """
        SELECT count(*) FROM cases c LEFT JOIN (
            SELECT case_id, count(*) AS n FROM assignments WHERE state IN ('active', 'voted') GROUP BY case_id
        ) a ON a.case_id = c.id
        WHERE c.state IN ('queued', 'in_review') AND c.open_seats <> c.panel_size - coalesce(a.n, 0)""",
    "negative_open_seats": "SELECT count(*) FROM cases WHERE open_seats < 0",
    "votes_without_voted_seat": """
        SELECT count(*) FROM votes v WHERE NOT EXISTS (
            SELECT 1 FROM assignments a WHERE a.case_id = v.case_id AND a.juror_id = v.juror_id
            AND a.state = 'voted')""",
    "voted_seats_without_vote": """
        SELECT count(*) FROM assignments a WHERE a.state = 'voted' AND NOT EXISTS (
            SELECT 1 FROM votes v WHERE v.case_id = a.case_id AND v.juror_id = a.juror_id)""",
    "duplicate_votes": """
        SELECT count(*) FROM (SELECT 1 FROM votes GROUP BY case_id, juror_id HAVING count(*) > 1) x""",
    "seats_left_active": "SELECT count(*) FROM assignments WHERE state = 'active'",
    "own_posts_dealt": """
        SELECT count(*) FROM assignments a JOIN users u ON u.id = a.juror_id JOIN cases c ON c.id = a.case_id
        JOIN posts p ON p.id = c.post_id WHERE p.author_id = u.network_account_id""",
    "reported_by_juror_dealt": """
        SELECT count(*) FROM assignments a JOIN users u ON u.id = a.juror_id JOIN cases c ON c.id = a.case_id
        WHERE EXISTS (SELECT 1 FROM reports r WHERE r.post_id = c.post_id AND r.reporter_id = u.network_account_id)""",
    "decided_cases_without_one_verdict": """
        SELECT count(*) FROM cases c WHERE c.state = 'decided'
        AND (SELECT count(*) FROM verdicts v WHERE v.case_id = c.id) <> 1""",
    "verdicts_with_too_few_votes": """
        SELECT count(*) FROM verdicts v JOIN cases c ON c.id = v.case_id
        WHERE (SELECT count(*) FROM votes w WHERE w.case_id = v.case_id) < c.panel_size""",
}


def check_database(db_url: str, app, votes_accepted: int) -> dict:
    """Run the consistency checks; every count must be zero (and the vote totals must agree)."""
    import audit
    from models import db

    result: dict = {}
    with psycopg.connect(db_url) as conn:
        for name, sql in CHECKS.items():
            result[name] = conn.execute(sql).fetchone()[0]
        totals = conn.execute("""SELECT (SELECT count(*) FROM assignments), (SELECT count(*) FROM votes),
            (SELECT count(*) FROM verdicts), (SELECT count(*) FROM cases WHERE state = 'escalated'),
            (SELECT count(*) FROM actions), (SELECT count(*) FROM audit_events)""").fetchone()
    with app.app_context():
        audit.seal(db.session)  # the tail the sweeper has not reached yet
        checked, broken = audit.verify_chain(db.session)
        db.session.remove()
    failures = [name for name, value in result.items() if value]
    votes_stored = totals[1]
    if votes_stored != votes_accepted:
        failures.append("votes_lost_or_phantom")
    if broken is not None:
        failures.append("audit_chain_broken")
    return {
        "violations": result,
        "votes_accepted_by_http": votes_accepted,
        "votes_stored": votes_stored,
        "assignments": totals[0],
        "verdicts": totals[2],
        "escalated_cases": totals[3],
        "actions_queued": totals[4],
        "audit_events_verified": checked,
        "audit_chain_intact": broken is None,
        "failed": failures,
        "all_passed": not failures,
    }


# --- the run ---------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> tuple[dict, bool]:
    """The whole benchmark; returns (result, checks passed)."""
    rng = random.Random(args.seed)
    load_before = common.load_average()
    env, app = common.start(args)
    db_url = env["DATABASE_URL"]
    try:
        common.progress(f"seeding {args.cases} open cases")
        seeded = seed(db_url, args.cases, rng)
        common.progress(f"seeded in {seeded['seconds']} s; creating {args.jurors} jurors")
        names = create_jurors(app, args.jurors)
        common.dispose(app)

        common.progress(f"starting gunicorn ({args.workers} workers x {args.threads} threads)")
        with common.Gunicorn(env, args.workers, args.threads, args.app) as server:
            jurors = [Juror(server.url, name, args.seed * 1000 + i) for i, name in enumerate(names)]
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(Juror.login, jurors))
            common.progress(f"{len(jurors)} jurors logged in")

            warmup = warm_up(server, jurors[:16], args.warmup_seconds, db_url, args.db_name, args.client)
            human = flat = None
            if args.human_seconds > 0:
                common.progress(f"human pace: {len(jurors)} jurors for {args.human_seconds:g} s "
                                f"(think {args.think_min:g}-{args.think_max:g} s)")
                human = run_phase(jurors, args.human_seconds, (args.think_min, args.think_max), args.think_max,
                                  server, db_url, args.db_name, args.client)
            flat_jurors = jurors[:args.flat_threads]
            if args.flat_seconds > 0:
                common.progress(f"flat out: {len(flat_jurors)} jurors for {args.flat_seconds:g} s")
                flat = run_phase(flat_jurors, args.flat_seconds, (0, 0), 0, server, db_url, args.db_name, args.client)
            server_errors = server.error_lines()
            command = server.command

        common.progress("checking the database")
        votes_accepted = sum(j.votes_accepted for j in jurors)
        checks = check_database(db_url, app, votes_accepted)
        checks["server_error_log_lines"] = len(server_errors)
        checks["cases_redealt_to_same_juror_by_client_view"] = sum(j.redealt for j in jurors)
        queued = common.redis_queue_lengths(args.redis, ["actions", "scoring"])

        for phase in (human, flat):
            if phase is not None:
                split_votes(db_url, phase)
        p99_next = human["latency"]["next_case"]["p99_ms"] if human else None
        p99_vote = human["latency"]["vote"]["p99_ms"] if human else None
        meets_next = p99_next <= TARGET_P99_MS if human else None
        meets_vote = p99_vote <= TARGET_P99_MS if human else None
        result = {
            "benchmark": "dealing",
            "open_cases_seeded": seeded["cases"],
            "jurors": len(jurors),
            "human_pace": human,
            "flat_out": flat,
            "target_p99_ms": TARGET_P99_MS,
            "human_next_case_p99_ms": p99_next,
            "human_vote_p99_ms": p99_vote,
            "meets_target_next_case": meets_next,
            "meets_target_vote": meets_vote,
            "meets_target": (meets_next and meets_vote) if human else None,
            "flat_out_dealt_per_s": flat["dealt_per_s"] if flat else None,
            "flat_out_voted_per_s": flat["voted_per_s"] if flat else None,
            "checks": checks,
            "warmup": warmup,
            "config": {
                "server": " ".join(command),
                "seed_data": seeded,
                "human_seconds": args.human_seconds,
                "think_seconds": [args.think_min, args.think_max],
                "flat_seconds": args.flat_seconds,
                "flat_threads": len(flat_jurors),
                "client": args.client,
                "vote_mix": "70% keep, 30% remove (spam)",
                "jobs_waiting_in_redis": queued,
                "postgresql": common.server_settings(args.pg),
            },
            "machine": {**common.machine(), "load_average_before": load_before},
        }
        return result, checks["all_passed"]
    finally:
        common.clean_up(app, args)


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run, print JSON; exit 1 if the run failed, 2 if a consistency check failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="open cases to seed (default: %(default)s)")
    parser.add_argument("--jurors", type=int, default=50,
                        help="juror accounts and client threads (default: %(default)s)")
    parser.add_argument("--human-seconds", type=float, default=60,
                        help="human-pace phase length; 0 skips it (default: %(default)s)")
    parser.add_argument("--think-min", type=float, default=5, help="shortest think time, s (default: %(default)s)")
    parser.add_argument("--think-max", type=float, default=10, help="longest think time, s (default: %(default)s)")
    parser.add_argument("--flat-seconds", type=float, default=20,
                        help="flat-out phase length; 0 skips it (default: %(default)s)")
    parser.add_argument("--flat-threads", type=int, default=50,
                        help="jurors dealing flat out, at most --jurors (default: %(default)s)")
    parser.add_argument("--warmup-seconds", type=float, default=5,
                        help="least uncounted flat-out warm-up; it goes on until every worker has loaded "
                             "its code (default: %(default)s)")
    add_client_argument(parser)
    common.add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.cases < 1 or not 1 <= args.flat_threads <= args.jurors or not 0 <= args.think_min <= args.think_max:
        parser.error("need cases >= 1, 1 <= flat-threads <= jurors, 0 <= think-min <= think-max")
    if args.human_seconds <= 0 and args.flat_seconds <= 0:
        parser.error("at least one of --human-seconds and --flat-seconds must be positive")
    common.install_signal_handlers()
    try:
        open_trace(args.trace)
        result, passed = run(args)
    except (common.BenchError, psycopg.Error, requests.RequestException, RedisError, OSError) as error:
        print(f"dealing benchmark failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    common.emit(result)
    return 0 if passed else 2


if __name__ == "__main__":
    sys.exit(main())
