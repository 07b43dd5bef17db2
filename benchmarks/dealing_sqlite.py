"""Dealing on SQLite (the embedded default) as the open cases grow: before and after planner statistics.

What runs, for each size N: a fresh SQLite file migrated with the project's migrations; N reported
posts and their open first-round cases written in bulk (priorities spread as the app computes them);
--jurors juror accounts made with `jury.jurors.users.create_user`. Each juror is then dealt a case with
`triage.dealing.deal_next` and skips it (`dealing.release`), --rounds times, first on the database as
migrated (never analysed) and then after `models.sql.refresh_planner_statistics()`, what the
sweeper runs on every pass. Only the deals are timed.

Targets, in the same run: once analysed, a deal at the largest N within 1.5x of one at the smallest
(its cost does not grow with the queue); and analysed against unanalysed at the largest N, the ratio
printed (no target: it says what the statistics are worth).

Prints one JSON object on stdout; exits 0 whether or not the target is met.

    .venv/bin/python benchmarks/dealing_sqlite.py [--sizes 1000,10000,100000] [--jurors 20] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import logging
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # `python benchmarks/x.py` puts benchmarks/ first on the path, not the project.
    sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from jury import create_app  # noqa: E402
from jury.jurors import users  # noqa: E402
from models import User, db, sql  # noqa: E402
from models.rules import RULE_CODES  # noqa: E402
from triage import dealing, transaction  # noqa: E402
from triage import priority as prio  # noqa: E402
from triage.policy import current_policy  # noqa: E402

TARGET_GROWTH = 1.5
PASSWORD = "bench-password-123"


def _app(folder: Path):
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'deal.sqlite3'}", "REDIS_URL": None,
                       "SECRET_KEY": "bench", "INTAKE_SECRET": "bench", "NETWORK_WEBHOOK_SECRET": "bench",
                       "NETWORK_ADAPTER": "sandbox", "NETWORK_URL": "http://127.0.0.1:9/sandbox",
                       "MODEL_DIR": str(folder / "models")})


def _seed(cases: int, rng: random.Random) -> None:
    """N posts by many authors and their open first-round cases, in two bulk inserts."""
    policy = current_policy()
    weights = policy.settings["priority_weights"]
    now = datetime.now(UTC)
    posts, rows = [], []
    for post_id in range(1, cases + 1):
        received = now - timedelta(seconds=rng.uniform(0, 48 * 3600))
        posts.append((post_id, f"seed-{post_id}", f"user-{rng.randint(1, 20_000)}", f"post {post_id}", received,
                      "visible", f"{post_id:064x}", received, received))
        reasons = [rng.choice(RULE_CODES) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        severity = prio.case_severity(reasons, None)
        base = prio.base_priority(severity, len(reasons), weights)
        sla_s = policy.sla_hours(severity) * 3600
        age = prio.age_fraction((now - received).total_seconds(), sla_s)
        rows.append((post_id, post_id, 0, "reported", "queued", severity, len(reasons), base,
                     prio.priority(base, age, weights), policy.panel_size, policy.panel_size, policy.version,
                     received, received + timedelta(seconds=sla_s), 0))
    raw = db.session.connection().connection.driver_connection
    raw.executemany("INSERT INTO posts (id, external_id, author_id, text, received_at, state, content_hash, "
                    "scored_at, score_requested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*row[:4], row[4].isoformat(" "), row[5], row[6], row[7].isoformat(" "),
                      row[8].isoformat(" ")) for row in posts])
    raw.executemany("INSERT INTO cases (id, post_id, review_round, origin, state, severity, report_count, "
                    "base_priority, priority, panel_size, open_seats, policy_version, opened_at, sla_deadline, "
                    "lock_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*row[:12], row[12].isoformat(" "), row[13].isoformat(" "), row[14]) for row in rows])
    db.session.commit()


def _deals(jurors: list, rounds: int) -> list[float]:
    """Each juror dealt a case and skipping it, `rounds` times: the deals' times in ms."""
    times = []
    for _ in range(rounds):
        for juror in jurors:
            started = time.perf_counter()
            seat = dealing.deal_next(juror)
            times.append((time.perf_counter() - started) * 1000)
            if seat is None:
                raise RuntimeError("no case was dealt: the seed has too few open cases")
            with transaction.atomic():
                dealing.release(seat, "skipped", actor=f"user:{juror.id}")
    return times


def measure(cases: int, jurors: int, rounds: int, seed: int) -> dict:
    """One size: median deal time unanalysed, then analysed."""
    with tempfile.TemporaryDirectory(prefix="jury-deal-") as folder:
        app = _app(Path(folder))
        with app.app_context():
            upgrade()
            _seed(cases, random.Random(seed))  # noqa: S311 - a benchmark's repeatable data
            people = [users.create_user(f"juror{i:03d}", PASSWORD, "juror", network_account_id=f"user-{i}")
                      for i in range(1, jurors + 1)]
            _deals(people[:2], 1)  # warm-up: statements built and cached
            unanalysed = _deals(people, rounds)
            ids = [person.id for person in people]
            with transaction.atomic():
                started = time.perf_counter()
                analysed_now = sql.refresh_planner_statistics()
                analyse_ms = (time.perf_counter() - started) * 1000
            db.session.remove()
            db.engine.dispose()  # the next connections load the statistics
            people = [db.session.get(User, juror_id) for juror_id in ids]
            analysed = _deals(people, rounds)
            db.session.remove()
            db.engine.dispose()
    return {"cases": cases, "deals": len(analysed), "unanalysed_median_ms": round(statistics.median(unanalysed), 3),
            "analysed_median_ms": round(statistics.median(analysed), 3), "analysed": analysed_now,
            "analyse_ms": round(analyse_ms, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="open cases, comma-separated")
    parser.add_argument("--jurors", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    runs = [measure(size, args.jurors, args.rounds, args.seed) for size in sizes]
    small, large = runs[0], runs[-1]
    growth = large["analysed_median_ms"] / small["analysed_median_ms"]
    print(json.dumps({
        "benchmark": "dealing_sqlite", "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "jurors": args.jurors, "rounds": args.rounds, "runs": runs,
        "analysed_growth_largest_over_smallest": round(growth, 2), "target_growth": TARGET_GROWTH,
        "target_met": growth <= TARGET_GROWTH,
        "analysed_over_unanalysed_at_largest": round(large["analysed_median_ms"] / large["unanalysed_median_ms"], 4),
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
