"""Shared helpers for the speed benchmarks: a throw-away database, a gunicorn server, statistics.

Nothing here is imported by the application; the benchmarks import the application
only to migrate the schema and to create users, exactly as `flask --app wsgi ...` would.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # `python benchmarks/x.py` puts benchmarks/ first on the path, not the project.
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402  (after the path fix on purpose)
import requests  # noqa: E402

DEFAULT_PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_DB_NAME = "jury_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
INTAKE_SECRET = "bench-intake-secret"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class BenchError(RuntimeError):
    """The benchmark itself could not run (not a missed target)."""


def install_signal_handlers() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so `finally` blocks stop gunicorn and drop the database."""
    def _exit(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit)


def add_common_arguments(parser) -> None:
    """Flags every benchmark shares: where the services are and how the server runs."""
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_SERVER", DEFAULT_PG_SERVER),
                        help="PostgreSQL server URL without database name (default: %(default)s)")
    parser.add_argument("--db-name", default=DEFAULT_DB_NAME,
                        help="database to create, use and drop (default: %(default)s)")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
                        help="Redis URL; its database is flushed before and after (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (default: %(default)s)")
    parser.add_argument("--app", default="wsgi:app",
                        help="WSGI app gunicorn serves, to compare a variant of the app (default: %(default)s)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--seed", type=int, default=1, help="random seed for generated data (default: %(default)s)")


# --- database -------------------------------------------------------------------------------

def database_url(server: str, name: str) -> str:
    """The URL of database `name` on `server`."""
    return f"{server.rstrip('/')}/{name}"


def _admin_connection(server: str) -> psycopg.Connection:
    return psycopg.connect(database_url(server, "postgres"), autocommit=True)


def create_database(server: str, name: str) -> str:
    """Drop `name` if present and create it empty; returns its URL."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise BenchError(f"refusing odd database name {name!r}")
    with _admin_connection(server) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return database_url(server, name)


def drop_database(server: str, name: str) -> None:
    """Drop the benchmark database (connections still open are ended)."""
    with _admin_connection(server) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def server_settings(server: str) -> dict[str, str]:
    """A few PostgreSQL settings worth recording next to the figures."""
    names = ("server_version", "shared_buffers", "synchronous_commit", "fsync", "max_connections")
    with _admin_connection(server) as conn:
        return {n: conn.execute(f"SHOW {n}").fetchone()[0] for n in names}


def flush_redis(url: str) -> None:
    """Empty the benchmark's Redis database."""
    from redis import Redis

    connection = Redis.from_url(url, socket_connect_timeout=2)
    connection.flushdb()
    connection.close()


def redis_queue_lengths(url: str, queues: Iterable[str]) -> dict[str, int]:
    """How many jobs wait on each RQ queue (no worker runs during a benchmark)."""
    from redis import Redis

    connection = Redis.from_url(url, socket_connect_timeout=2)
    try:
        return {q: int(connection.llen(f"rq:queue:{q}")) for q in queues}
    finally:
        connection.close()


def app_environment(db_url: str, redis_url: str) -> dict[str, str]:
    """Environment for gunicorn and for the in-process app: real settings, no instance secrets."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,  # jobs go to Redis and wait there: the API is measured, not scoring
        "SECRET_KEY": "bench-secret-key",
        "INTAKE_SECRET": INTAKE_SECRET,
        "NETWORK_WEBHOOK_SECRET": "bench-webhook-secret",
        "NETWORK_ADAPTER": "sandbox",
        "NETWORK_URL": "http://127.0.0.1:9/sandbox",
        "PYTHONUNBUFFERED": "1",
        # One client address plays every juror and the network: per-address rate limits would measure themselves.
        "RATELIMIT_ENABLED": "false",
    })
    return env


def build_app(env: Mapping[str, str]):
    """The Flask app configured like the gunicorn one (overrides rather than os.environ)."""
    from jury import create_app

    keys = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "INTAKE_SECRET", "NETWORK_WEBHOOK_SECRET",
            "NETWORK_ADAPTER", "NETWORK_URL")
    return create_app({k: env[k] for k in keys})


def migrate(app) -> int:
    """Create the schema with the project's migrations and publish policy version 1."""
    from flask_migrate import upgrade

    from models import db
    from triage.policy import current_policy

    with app.app_context():
        upgrade()
        version = current_policy().version
        db.session.commit()
        db.session.remove()
    return version


def dispose(app) -> None:
    """Close the in-process app's pooled connections (before the database is dropped)."""
    from models import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- gunicorn --------------------------------------------------------------------------------

def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(D)s %(p)s"


def autogroup_enabled() -> bool:
    """Whether the kernel groups processes by session for CPU shares (see set_autogroup_nice)."""
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


def set_autogroup_nice(pid: int, level: int) -> bool:
    """Give a process started in a session of its own the same nice level as a scheduler group.

    With the kernel's autogroup on (/proc/sys/kernel/sched_autogroup_enabled), each session is a
    group that gets an equal share of the CPU, and a process's own nice level only weighs against
    processes of its session: `nice -n 19` on a worker in a session of its own changes nothing
    against gunicorn. The group's level (/proc/PID/autogroup) is what weighs, as a systemd unit's
    CPUWeight does in production. False where the kernel has no autogroup.
    """
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(level))
    except OSError:
        return False
    return True


class Gunicorn:
    """`gunicorn wsgi:app` as a subprocess on a free loopback port; a context manager."""

    def __init__(self, env: Mapping[str, str], workers: int = 2, threads: int = 4, app: str = "wsgi:app"):
        self.env = dict(env)
        self.workers = workers
        self.threads = threads
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="jury-bench-gunicorn-", suffix=".log", delete=False)
        # gunicorn's own per-request time (%(D)s, microseconds), so a report can split the
        # client's wall time into time in the server and time on the wire and in the client.
        self.access_log = tempfile.NamedTemporaryFile(prefix="jury-bench-access-", suffix=".log", delete=False)

    @property
    def command(self) -> list[str]:
        """The command line (as a reader would type it)."""
        return ["gunicorn", "-w", str(self.workers), "--threads", str(self.threads),
                "-b", f"127.0.0.1:{self.port}", self.app]

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until /healthz answers 200."""
        argv = [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "--threads", str(self.threads),
                "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "--timeout", "120",
                "--access-logfile", self.access_log.name, "--access-logformat", ACCESS_LOG_FORMAT, self.app]
        self.process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer /healthz within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Graceful stop, then a kill of the process group if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    @property
    def pid(self) -> int | None:
        """The master's process id while running."""
        return self.process.pid if self.process is not None else None

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the master)."""
        if self.pid is None:
            return []
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                stat = _proc_stat(int(entry.name))
                if stat is not None and stat[1] == self.pid:
                    children.append(int(entry.name))
        return children

    def workers_loaded(self, requests: int = 20) -> bool:
        """Whether every worker has served at least `requests` requests (the access log names it).

        A worker's first requests pay one-off costs (imports, compiled statements, the policy and
        template caches, its database connections); warm-ups go on until every worker has paid them.
        """
        pids = self.worker_pids()
        if len(pids) < self.workers:
            return False
        served = Counter(row[4] for row in self.server_times(0))
        return all(served[pid] >= requests for pid in pids)

    def access_log_offset(self) -> int:
        """The access log's current size: the start or end of a phase's requests."""
        return Path(self.access_log.name).stat().st_size

    def server_times(self, start: int, end: int | None = None) -> list[tuple[str, str, int, float, int]]:
        """(method, path, status, seconds in the server, worker pid) for requests logged between
        two offsets."""
        with open(self.access_log.name, "rb") as handle:
            handle.seek(start)
            data = handle.read() if end is None else handle.read(end - start)
        rows = []
        for line in data.decode("utf-8", "replace").splitlines():
            parts = line.split()
            if len(parts) == 5 and parts[2].isdigit() and parts[3].isdigit():
                # gunicorn writes %(p)s as "<pid>".
                pid = parts[4].strip("<>")
                rows.append((parts[0], parts[1], int(parts[2]), int(parts[3]) / 1e6,
                             int(pid) if pid.isdigit() else 0))
        return rows

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log (errors show up here)."""
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def error_lines(self) -> list[str]:
        """Lines of the server log that report an error or traceback."""
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace").splitlines()
        return [line for line in text if "Traceback" in line or " ERROR " in line or "[ERROR]" in line]

    def __enter__(self) -> Gunicorn:
        self.start()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.stop()
        if exc_type is not None and self.error_lines():
            # The run failed with the server's log about to go: show why the server failed.
            progress(f"gunicorn's log ends:\n{self.log_tail(60)}")
        for log in (self.log, self.access_log):
            log.close()
            with contextlib.suppress(OSError):
                os.unlink(log.name)


@contextlib.contextmanager
def best_effort(what: str) -> Iterator[None]:
    """Run a clean-up step; report its failure on stderr instead of hiding the run's own error."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - clean-up must go on with the next step
        progress(f"clean-up step '{what}' failed: {type(error).__name__}: {error}")


# --- HTTP helpers ----------------------------------------------------------------------------

def csrf_token(html: str) -> str:
    """The value of the form's hidden csrf_token input."""
    match = CSRF_INPUT.search(html)
    if not match:
        raise BenchError("no csrf_token input on the page")
    return match.group(1)


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """Yield a one-item list that holds the elapsed seconds once the block ends."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start


# --- CPU accounting --------------------------------------------------------------------------

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds) of one process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _CLK_TCK


def _is_other_postgres_backend(pid: int, db_name: str) -> bool:
    """A PostgreSQL backend serving another database (another program's load, not ours)."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    is_backend = "(" in title or "[local]" in title
    return is_backend and f" {db_name} " not in title


def cpu_snapshot(server_pid: int | None, db_name: str) -> dict[str, float]:
    """CPU seconds used so far by this client, gunicorn, PostgreSQL (our database and its background
    processes), Redis, everything else, and the machine as a whole."""
    totals = {"client": 0.0, "gunicorn": 0.0, "postgresql": 0.0, "redis": 0.0}
    if not Path("/proc/stat").exists():
        return {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _proc_stat(pid)
        if stat is None:
            continue
        name, ppid, cpu = stat
        if pid == me:
            totals["client"] += cpu
        elif server_pid is not None and (pid == server_pid or ppid == server_pid):
            totals["gunicorn"] += cpu
        elif name.startswith("postgres") and not _is_other_postgres_backend(pid, db_name):
            totals["postgresql"] += cpu
        elif name.startswith("redis-server"):
            totals["redis"] += cpu
    # user nice system idle iowait irq softirq steal (guest time is already inside user)
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = fields[3] + fields[4]
    totals["machine_busy"] = (sum(fields) - idle) / _CLK_TCK
    totals["machine_all"] = sum(fields) / _CLK_TCK
    totals["machine_stolen"] = fields[7] / _CLK_TCK
    return totals


def cpu_usage(before: Mapping[str, float], after: Mapping[str, float], wall_s: float) -> dict[str, Any]:
    """CPU used between two snapshots, in cores busy on average (2.0 = both cores of a 2-core machine).

    `other_cores` is whatever else ran on the machine meanwhile (other programs, other databases):
    when it is not near zero, the figures were taken on a shared, noisy machine.
    """
    if not before or not after or wall_s <= 0:
        return {}
    ours = ("client", "gunicorn", "postgresql", "redis")
    usage = {f"{k}_cores": round((after[k] - before[k]) / wall_s, 2) for k in ours}
    span = after["machine_all"] - before["machine_all"]
    busy = after["machine_busy"] - before["machine_busy"]
    cores = span / wall_s if wall_s else 0
    usage["other_cores"] = round(max(0.0, busy / wall_s - sum((after[k] - before[k]) / wall_s for k in ours)), 2)
    usage["machine_busy_fraction"] = round(busy / span, 3) if span else None
    usage["machine_cores_seen"] = round(cores, 2)
    # Time the hypervisor gave this machine's virtual cores to someone else (vmstat's "st"); it is
    # counted in machine_busy_fraction, and a run with much of it measured a smaller machine.
    if "machine_stolen" in before:
        stolen = after["machine_stolen"] - before["machine_stolen"]
        usage["stolen_fraction"] = round(stolen / span, 3) if span else None
    return usage


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (how busy the machine was before a run)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


# --- statistics and output -------------------------------------------------------------------

def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; values must be sorted."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(seconds: Iterable[float]) -> dict[str, Any]:
    """count, mean, p50, p90, p99 and max of latencies, in milliseconds."""
    values = sorted(seconds)
    if not values:
        return {"count": 0}
    ms = lambda v: round(v * 1000.0, 2)  # noqa: E731
    return {
        "count": len(values),
        "mean_ms": ms(sum(values) / len(values)),
        "p50_ms": ms(percentile(values, 50)),
        "p90_ms": ms(percentile(values, 90)),
        "p99_ms": ms(percentile(values, 99)),
        "max_ms": ms(values[-1]),
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def emit(result: Mapping[str, Any]) -> None:
    """Print the result as indented JSON on stdout (progress goes to stderr)."""
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    sys.stdout.flush()


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def clean_up(app, args) -> None:
    """Close the app's connections, drop the database (unless --keep-db) and flush Redis, each best effort."""
    if app is not None:
        with best_effort("close the app's connections"):
            dispose(app)
    if not args.keep_db:
        with best_effort("drop the database"):
            drop_database(args.pg, args.db_name)
    with best_effort("flush Redis"):
        flush_redis(args.redis)


def start(args):
    """Create and migrate the bench database and flush Redis; returns (environment, app).

    On failure everything made so far is cleaned up before the error propagates.
    """
    db_url = create_database(args.pg, args.db_name)
    env = app_environment(db_url, args.redis)
    app = None
    try:
        flush_redis(args.redis)
        app = build_app(env)
        migrate(app)
    except BaseException:
        clean_up(app, args)
        raise
    return env, app
