"""Private Redis and PostgreSQL servers, gunicorn, and RQ workers as processes the fault tests may break.

The shared servers other test runs use are never stopped: every outage is staged on a server of
the test's own, on a free loopback port, with its data in a temporary directory.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class ServerUnavailable(RuntimeError):
    """The server binaries are not installed, or the server did not start."""


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    """Poll until predicate() is truthy; returns its value or raises TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def _stop(process: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM the process group, then SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


class PrivateRedis:
    """`redis-server` without persistence on its own port: stop() loses its queues, as a crash does."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerUnavailable("redis-server is not installed")
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="jury-redis-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start (or start again on the same port) and wait until it answers PING."""
        from redis import Redis

        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

        def answers() -> bool:
            if self.process.poll() is not None:
                raise ServerUnavailable(f"redis-server exited with {self.process.returncode}")
            with contextlib.suppress(Exception), Redis.from_url(self.url, socket_connect_timeout=0.5) as client:
                return client.ping()
            return False

        wait_for(answers, 20, "the private Redis to answer")

    def stop(self) -> None:
        """Stop it; whatever it held is gone."""
        _stop(self.process)
        self.process = None

    def close(self) -> None:
        """Stop and remove its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bindir() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian layout, or wherever initdb is on PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ServerUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb, trust auth) that tests may stop and restart."""

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        self.root = tempfile.mkdtemp(prefix="jury-pg-")
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "server.log")
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        # PostgreSQL refuses to run as root: the cluster belongs to the postgres account then.
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise ServerUnavailable("running as root and runuser is missing")
            import pwd

            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise ServerUnavailable("running as root and there is no postgres account") from None
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self.as_user = [runuser, "-u", "postgres", "--"]
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.as_user, str(self.bindir / tool), *args], capture_output=True, text=True,
                                timeout=120, check=False)
        if check and result.returncode != 0:
            raise ServerUnavailable(f"{tool} failed ({result.returncode}): {result.stderr[-2000:]}")
        return result

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", self.log, "-w", "-t", "60", *extra, action)

    def start(self) -> None:
        """Start the cluster and wait until it accepts connections."""
        self._pg_ctl("start")

    def stop(self) -> None:
        """Fast shutdown: sessions are cut, as in a failover or a crash of the connection."""
        self._pg_ctl("stop", "-m", "fast")

    def restart(self) -> None:
        """Stop and start again in one go."""
        self._pg_ctl("restart", "-m", "fast")

    def database(self, name: str) -> str:
        """Create database `name`; returns its URL."""
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def close(self) -> None:
        """Stop immediately and remove the cluster."""
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def flask_command(*args: str, env: dict, log: Path | None = None) -> subprocess.Popen:
    """`flask --app wsgi ARGS` as a process group of its own (so it can be killed whole)."""
    flask = str(Path(sys.executable).parent / "flask")
    with open(log or os.devnull, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([flask, "--app", "wsgi", *args], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (Linux)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Processes:
    """Background processes started by a test, all stopped at the end."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen] = []

    def start(self, *args: str, env: dict, log: Path | None = None) -> subprocess.Popen:
        """Start a `flask` command."""
        process = flask_command(*args, env=env, log=log)
        self.running.append(process)
        return process

    def gunicorn(self, env: dict, port: int, log: Path) -> subprocess.Popen:
        """`gunicorn -w 2 --threads 4 wsgi:app` on a loopback port."""
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}",
                 "--timeout", "60", "wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the process and every descendant (an RQ worker puts its job process in a session
        of its own, so killing the worker's group alone would leave the job running)."""
        for pid in [process.pid, *descendants(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        """Stop everything still running."""
        for process in reversed(self.running):
            _stop(process)
        self.running.clear()
