"""`flask worker`, `flask sweep` and `flask demo`: the processes Jury runs."""
from __future__ import annotations

import textwrap

import click
from flask import current_app

from jury.demo import seed as demo
from jury.tasks import sweeper
from jury.tasks.worker import ForkingJobWorker, JobWorker
from triage.intake import get_scorer
from triage.jobs import QUEUES, redis_connection


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@click.option("--queue", "queues", multiple=True, help="Queues to serve (default: all).")
@click.option("--fork", is_flag=True,
              help="Run each job in a forked process (RQ's classic worker) instead of in the worker itself.")
def worker_command(burst: bool, queues: tuple[str, ...], fork: bool) -> None:
    """Run an RQ worker for the scoring, actions and training queues.

    By default jobs run in the worker process (RQ's SimpleWorker): forking per job cost a new
    process and a new database connection for each of the many small jobs (a delivery, a
    verdict's follow-up), and capped scoring near 80 posts/s on two cores. Job timeouts still
    apply; a job that kills its process is re-queued by the sweeper, as with a killed worker.
    """
    # Loaded here, not at the top: every web process registers these commands, and only the worker
    # needs scikit-learn (which importing classifiers loads).
    from classifiers import ScorerError

    connection = redis_connection()
    if connection is None:
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run inline and need no worker")
    # Load the model once here so every job (or forked job process) finds it loaded, and so a
    # missing or unreadable model stops the worker at start-up, not at the first post.
    try:
        get_scorer()
    except ScorerError as error:
        raise click.ClickException(f"cannot load the {current_app.config['SCORER']} scorer: {error}") from None
    worker_class = ForkingJobWorker if fork else JobWorker
    worker_class(list(queues or QUEUES), connection=connection).work(burst=burst)


@click.command("sweep")
@click.option("--loop", is_flag=True, help="Keep sweeping every --interval seconds.")
@click.option("--interval", default=15.0, show_default=True)
def sweep_command(loop: bool, interval: float) -> None:
    """Re-enqueue lost jobs, expire leases and refresh priorities."""
    if loop:
        sweeper.run_forever(current_app._get_current_object(), interval)
    else:
        click.echo(sweeper.sweep())


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Set up the data and exit.")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Set up the embedded demo (database, accounts, sandbox posts) and serve it."""
    accounts = demo.prepare()
    click.echo(f"\nJury demo is ready at http://{host}:{port}")
    click.echo("Accounts (passwords are new each run):")
    for name, role, password in accounts:
        click.echo(f"  {role:6} {name:10} {password}")
    click.echo(f"The sandbox network: http://{host}:{port}/sandbox/\n")
    click.echo("What to try, in order:")
    for number, step in enumerate(demo.WALKTHROUGH, 1):
        click.echo(textwrap.fill(step, width=100, initial_indent=f"  {number}. ", subsequent_indent="     "))
    click.echo("")
    if not no_serve:
        demo.serve(current_app._get_current_object(), host, port)
