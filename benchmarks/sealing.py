"""Audit sealing: chaining written events, one UPDATE per batch against the ORM's one per event.

What runs: a fresh PostgreSQL database migrated with the project's migrations. Each round writes
--events unsealed audit events (one multi-row insert, as requests write them) and seals them with
`audit.seal` (what the sweeper runs every second), timing the sealing alone and the PostgreSQL
backend's CPU over it. Rounds alternate between the way events are sealed now (one
`UPDATE ... FROM unnest(...)` per batch) and the baseline, the ORM's bulk update by primary key
(one UPDATE per event, as before), so drift in the machine falls on both. Afterwards the whole
chain is verified.

Prints one JSON object on stdout: events sealed per second and backend CPU-ms per 1,000 events
for each way (medians over the rounds), and their ratios. Exit status: 0 the run completed, 1 it
failed, 2 the chain did not verify.

    .venv/bin/python benchmarks/sealing.py [--events 5000] [--rounds 6]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import common
import psycopg
from redis.exceptions import RedisError


def _orm_bulk_update(session, sealed) -> None:
    """The baseline: the ORM's bulk update by primary key (one UPDATE per event)."""
    from sqlalchemy import update

    from models import AuditEvent

    session.execute(update(AuditEvent), sealed)


def _backend_cpu_seconds(session) -> float:
    """CPU seconds the session's PostgreSQL backend has used so far (from /proc)."""
    from sqlalchemy import text

    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args: argparse.Namespace) -> tuple[dict, bool]:
    """Alternate rounds of writing and sealing; returns (result, chain verified)."""
    import audit
    import audit.log as audit_log
    from models import db

    env, app = common.start(args)
    try:
        current = audit_log._write_seals
        ways = {"one_update_per_batch": current, "orm_update_per_event": _orm_bulk_update}
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
        with app.app_context():
            audit.seal(db.session)  # what migrating and starting wrote (the first policy version)
            db.session.commit()
            for round_number in range(args.rounds * 2):
                name = list(ways)[round_number % 2]
                audit.record_many(db.session, [
                    audit.EventSpec("bench_event", "case", i, {"juror": i % 50, "decision": "keep"}, "user:1")
                    for i in range(args.events)])
                db.session.commit()
                cpu_before = _backend_cpu_seconds(db.session)
                db.session.commit()
                audit_log._write_seals = ways[name]
                started = time.perf_counter()
                sealed = audit.seal(db.session, batch=args.events)
                wall = time.perf_counter() - started
                audit_log._write_seals = current
                cpu = _backend_cpu_seconds(db.session) - cpu_before
                db.session.commit()
                if sealed != args.events:
                    raise common.BenchError(f"sealed {sealed} events of {args.events}")
                figures[name].append((sealed / wall, cpu * 1000 / (sealed / 1000)))
                common.progress(f"round {round_number + 1}: {name} {sealed / wall:,.0f} events/s")
            checked, broken = audit.verify_chain(db.session)
            db.session.remove()
        summary = {name: {"events_per_s": round(statistics.median(r for r, _ in rows)),
                          "backend_cpu_ms_per_1000_events": round(statistics.median(c for _, c in rows), 1)}
                   for name, rows in figures.items()}
        now, before = summary["one_update_per_batch"], summary["orm_update_per_event"]
        result = {
            "benchmark": "sealing",
            "events_per_round": args.events,
            "rounds_each": args.rounds,
            "ways": summary,
            "ratio_events_per_s": round(now["events_per_s"] / before["events_per_s"], 2),
            "ratio_backend_cpu": round(now["backend_cpu_ms_per_1000_events"]
                                       / max(before["backend_cpu_ms_per_1000_events"], 0.1), 2),
            "chain_events_verified": checked,
            "chain_intact": broken is None,
            "machine": common.machine(),
        }
        return result, broken is None
    finally:
        common.clean_up(app, args)


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000,
                        help="events written and sealed per round (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each way (default: %(default)s)")
    common.add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.events < 1 or args.rounds < 1:
        parser.error("need events >= 1 and rounds >= 1")
    common.install_signal_handlers()
    try:
        result, intact = run(args)
    except (common.BenchError, psycopg.Error, RedisError, OSError) as error:
        print(f"sealing benchmark failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    common.emit(result)
    return 0 if intact else 2


if __name__ == "__main__":
    sys.exit(main())
