"""`flask users`: create accounts, lift lockouts, change roles, end sessions (each audited)."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from jury.jurors import lockout, users
from models import User, db
from models.errors import DomainError

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["juror", "lead", "admin"]), default="juror", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--network-account", default=None, help="The person's account id on the network.")
def create_user_command(username: str, role: str, password_stdin: bool, network_account: str | None) -> None:
    """Create an account non-interactively (password on stdin) or with a prompt."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.create_user(username, password, role, network_account_id=network_account, actor="cli")
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {user.role} {user.username} (id {user.id})")


@users_cli.command("unlock")
@click.argument("username")
def unlock_user_command(username: str) -> None:
    """Clear an account's failed-login count and lockout."""
    user_id = db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
    if user_id is None:
        raise click.ClickException(f"no user {username!r}")
    lockout.unlock(user_id, actor="cli")
    click.echo(f"unlocked {username}")


@users_cli.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(["juror", "lead", "admin"]))
def set_role_command(username: str, role: str) -> None:
    """Give an account another role; every session of the account ends (audited)."""
    try:
        user = users.set_role(username, role, actor="cli")
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{user.username} is now {user.role}; their sessions have ended")


@users_cli.command("end-sessions")
@click.argument("username")
def end_sessions_command(username: str) -> None:
    """Sign an account out everywhere (a lost laptop, a leaked cookie), audited."""
    user = users.by_username(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    users.end_sessions(user, "ended_by_admin", actor="cli")
    click.echo(f"every session of {user.username} has ended")
