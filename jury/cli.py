"""`flask` commands: users, worker, sweeper, demo, audit."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from models.errors import DomainError
from models import db

users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="Check the audit trail.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["juror", "lead", "admin"]), default="juror", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--network-account", default=None, help="The person's account id on the network.")
def create_user_command(username: str, role: str, password_stdin: bool, network_account: str | None) -> None:
    """Create an account non-interactively (password on stdin) or with a prompt."""
    from jury import users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.create_user(username, password, role, network_account_id=network_account, actor="cli")
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {user.role} {user.username} (id {user.id})")


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
    from rq import SimpleWorker, Worker

    from triage.jobs import QUEUES, redis_connection

    from triage.scoring import get_scorer

    connection = redis_connection()
    if connection is None:
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run inline and need no worker")
    from classifiers import ScorerError

    # Load the model once here so every job (or forked job process) finds it loaded, and so a
    # missing or unreadable model stops the worker at start-up, not at the first post.
    try:
        get_scorer()
    except ScorerError as error:
        raise click.ClickException(f"cannot load the {current_app.config['SCORER']} scorer: {error}") from None
    worker_class = Worker if fork else SimpleWorker
    worker_class(list(queues or QUEUES), connection=connection).work(burst=burst)


@click.command("sweep")
@click.option("--loop", is_flag=True, help="Keep sweeping every --interval seconds.")
@click.option("--interval", default=15.0, show_default=True)
def sweep_command(loop: bool, interval: float) -> None:
    """Re-enqueue lost jobs, expire leases and refresh priorities."""
    from jury import sweeper

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
    from jury import demo

    accounts = demo.prepare()
    click.echo("\nJury demo is ready at http://%s:%d" % (host, port))
    click.echo("Accounts (passwords are new each run):")
    for name, role, password in accounts:
        click.echo(f"  {role:6} {name:10} {password}")
    click.echo(f"The sandbox network: http://{host}:{port}/sandbox/\n")
    if not no_serve:
        demo.serve(current_app._get_current_object(), host, port)


@audit_cli.command("seal")
def audit_seal_command() -> None:
    """Chain every audit event written so far (the sweeper does this every second)."""
    import audit

    click.echo(f"sealed {audit.seal(db.session)} events")


@audit_cli.command("verify")
@click.option("--no-seal", is_flag=True, help="Only read: do not seal new events first (a read-only replica).")
def audit_verify_command(no_seal: bool) -> None:
    """Seal new events, then walk the hash chain; exit 1 naming the first broken event."""
    import audit

    if not no_seal:
        audit.seal(db.session)
    checked, broken = audit.verify_chain(db.session)
    if broken is not None:
        raise click.ClickException(f"audit chain broken at event {broken.id} ({broken.event_type}); "
                                   f"{checked} events before it are intact")
    click.echo(f"audit chain intact: {checked} events")
    head_id, head_hash = audit.chain_head(db.session)
    click.echo(f"head: event {head_id} {head_hash}")
    unsealed = audit.unsealed_count(db.session)
    if unsealed:
        click.echo(f"{unsealed} newer events are not sealed yet (not checked)")


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    from jury import cli_audit  # noqa: F401 - adds export, report and transparency to `audit`
    from jury.cli_classifiers import classifiers_cli
    from jury.cli_jury import jury_cli
    from jury.cli_network import network_cli

    for command in (users_cli, audit_cli, classifiers_cli, jury_cli, network_cli, worker_command, sweep_command,
                    demo_command):
        app.cli.add_command(command)
