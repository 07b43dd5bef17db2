"""The `flask` commands, one module a group; create_app registers them all here."""
from __future__ import annotations

from flask import Flask

from jury.cli.audit_commands import audit_cli
from jury.cli.classifier_commands import classifiers_cli
from jury.cli.cluster_commands import clusters_cli
from jury.cli.network_commands import network_cli
from jury.cli.service_commands import demo_command, sweep_command, worker_command
from jury.cli.simulate_commands import jury_cli
from jury.cli.user_commands import users_cli

COMMANDS = (users_cli, audit_cli, classifiers_cli, clusters_cli, jury_cli, network_cli, worker_command, sweep_command,
            demo_command)


def register(app: Flask) -> None:
    """Attach every command to the app."""
    for command in COMMANDS:
        app.cli.add_command(command)
