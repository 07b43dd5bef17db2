"""The RQ workers `flask worker` runs: each job in an app context of its own.

A job is the service function itself, queued by its dotted name (`triage.outbox.deliver`,
`jury.panels.verdicts.follow_up`, ...); it receives ids, re-reads its rows and is safe to run
twice. The worker runs inside the `flask` command's app and gives every job a fresh app context,
so each job has a database session of its own, closed when it ends.
"""
from __future__ import annotations

from flask import current_app
from rq import SimpleWorker, Worker
from rq.job import Job
from rq.queue import Queue


class _AppContextPerJob:
    """Run each job in a new app context of the app the worker was started in."""

    def perform_job(self, job: Job, queue: Queue) -> bool:
        with current_app._get_current_object().app_context():
            return super().perform_job(job, queue)


class JobWorker(_AppContextPerJob, SimpleWorker):
    """Jobs in the worker's own process (the default: no process and connection per small job)."""


class ForkingJobWorker(_AppContextPerJob, Worker):
    """Each job in a forked process (RQ's classic worker)."""
