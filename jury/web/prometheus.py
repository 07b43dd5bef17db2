"""Prometheus metrics: request latency from every process, queue and case figures read at scrape time."""
from __future__ import annotations

import logging
import os
import time

from flask import Flask, current_app, g, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select, text

from models import ACTION_STATES, CASE_STATES, Action, Case, db
from triage import jobs, transaction

log = logging.getLogger(__name__)

# Request latency is recorded in each process; with PROMETHEUS_MULTIPROC_DIR set (gunicorn with
# several workers), prometheus-client writes it to files there and the scrape merges them.
REQUEST_REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "jury_request_duration_seconds", "Time to answer an HTTP request.", ("method", "endpoint", "status"),
    registry=REQUEST_REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class StateCollector:
    """Figures read from PostgreSQL/SQLite and Redis when scraped, so every process reports the same."""

    def collect(self):
        """Yield queue depth per RQ queue, cases per state and actions per state."""
        cases = GaugeMetricFamily("jury_cases", "Cases by state.", labels=["state"])
        counts = dict(db.session.execute(select(Case.state, func.count()).group_by(Case.state)).all())
        for state in CASE_STATES:
            cases.add_metric([state], counts.get(state, 0))
        yield cases
        actions = GaugeMetricFamily("jury_actions", "Network actions by state (failed and dead are failures).",
                                    labels=["state"])
        counts = dict(db.session.execute(select(Action.state, func.count()).group_by(Action.state)).all())
        for state in ACTION_STATES:
            actions.add_metric([state], counts.get(state, 0))
        yield actions
        failures = GaugeMetricFamily("jury_action_failures", "Actions waiting to retry or dead.")
        failures.add_metric([], counts.get("failed", 0) + counts.get("dead", 0))
        yield failures
        depth = GaugeMetricFamily("jury_queue_depth", "Jobs waiting per RQ queue (absent when jobs run inline).",
                                  labels=["queue"])
        for queue, size in queue_depths().items():
            depth.add_metric([queue], size)
        yield depth


def queue_depths() -> dict[str, int]:
    """Jobs waiting on each RQ queue; empty without Redis or when Redis does not answer."""
    connection = jobs.redis_connection()
    if connection is None:
        return {}
    from rq import Queue

    try:
        return {name: Queue(name, connection=connection).count for name in jobs.QUEUES}
    except Exception as error:  # a scrape must not fail because Redis is down; /healthz says so
        log.warning("queue depth unavailable: %s", type(error).__name__)
        return {}


def exposition() -> bytes:
    """The metrics in Prometheus's text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        requests_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests_registry)
    else:
        requests_registry = REQUEST_REGISTRY
    state_registry = CollectorRegistry(auto_describe=False)
    state_registry.register(StateCollector())
    return generate_latest(requests_registry) + generate_latest(state_registry)


def instrument(app: Flask) -> None:
    """Time every request."""

    @app.before_request
    def _start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            # The endpoint name, never the raw path: ids in paths would explode the label set.
            REQUEST_SECONDS.labels(request.method, request.endpoint or "unmatched",
                                   str(response.status_code)).observe(time.perf_counter() - started)
        return response


def check_health() -> tuple[bool, dict[str, str]]:
    """Whether the database and Redis (when configured) answer, with a word for each."""
    checks: dict[str, str] = {}
    healthy = True
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        transaction.abandon()
        checks["database"] = f"error: {type(error).__name__}"
        healthy = False
    connection = jobs.redis_connection()
    if connection is None:
        checks["redis"] = "not configured"
    else:
        try:
            connection.ping()
            checks["redis"] = "ok"
        except Exception as error:  # noqa: BLE001
            checks["redis"] = f"error: {type(error).__name__}"
            healthy = False
    return healthy, checks


def metrics_token() -> str | None:
    """The bearer token /metrics asks for, when one is set."""
    return current_app.config.get("METRICS_TOKEN") or os.environ.get("METRICS_TOKEN") or None
