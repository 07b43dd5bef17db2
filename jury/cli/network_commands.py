"""`flask network …`: pull reports from the network (Mastodon) once or on an interval."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup

from network import AdapterConfigError
from network.mastodon_client import MastodonError
from triage import mastodon_reports as mastodon

network_cli = AppGroup("network", help="Talk to the network Jury moderates.")


@network_cli.command("poll")
@click.option("--loop", is_flag=True, help="Keep polling every --interval seconds.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between polls with --loop.")
@click.option("--full", is_flag=True, help="Re-read every open report, not only those newer than the last poll.")
def poll_command(loop: bool, interval: float, full: bool) -> None:
    """Pull open reports from the Mastodon instance into Jury (idempotent)."""
    if current_app.config.get("NETWORK_ADAPTER") != "mastodon":
        raise click.ClickException("polling needs NETWORK_ADAPTER=mastodon (with NETWORK_URL and NETWORK_TOKEN)")
    try:
        client = mastodon.client_from_config()
    except AdapterConfigError as error:
        raise click.ClickException(str(error)) from None
    if loop:
        if interval <= 0:
            raise click.ClickException("--interval must be positive")
        mastodon.run_forever(current_app._get_current_object(), interval)
        return
    try:
        summary = mastodon.poll_once(client, full=full)
    except MastodonError as error:
        raise click.ClickException(error.detail) from None
    click.echo(json.dumps(summary, sort_keys=True))
