"""The `flask` commands, one module a group; create_app registers them all here."""
from __future__ import annotations

from flask import Flask

from jury.cli.audit import audit_cli
from jury.cli.classifiers import classifiers_cli
from jury.cli.network_poll import network_cli
from jury.cli.service import demo_command, sweep_command, worker_command
from jury.cli.simulate import jury_cli
from jury.cli.users import users_cli

COMMANDS = (users_cli, audit_cli, classifiers_cli, jury_cli, network_cli, worker_command, sweep_command, demo_command)


def register(app: Flask) -> None:
    """Attach every command to the app."""
    for command in COMMANDS:
        app.cli.add_command(command)
