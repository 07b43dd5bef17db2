"""`flask clusters`: near-duplicate clusters (triage/clusters.py) for posts stored before they were on."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from models.errors import DomainError
from triage import cluster_backfill

clusters_cli = AppGroup("clusters", help="Near-duplicate clusters.")


@clusters_cli.command("backfill")
@click.option("--batch-size", type=click.IntRange(1, cluster_backfill.MAX_BATCH), default=cluster_backfill.BATCH,
              show_default=True, help="Posts a transaction.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Stop after this many posts (default: all).")
def backfill_command(batch_size: int, limit: int | None) -> None:
    """Put the posts stored before clustering was switched on in their clusters (resumable; safe beside
    intake and workers). Posts keep their cases; their later copies join their clusters."""
    before = cluster_backfill.waiting()
    click.echo(f"{before} scored posts without a fingerprint", err=True)
    try:
        done = cluster_backfill.backfill(batch_size, limit,
                                         progress=lambda n, last: click.echo(f"{n} clustered (to post id {last})",
                                                                             err=True))
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"clustered {done} posts; {cluster_backfill.waiting()} left")
