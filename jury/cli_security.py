"""`flask users unlock NAME`: lift a login lockout from the command line (audited)."""
from __future__ import annotations

import click
from sqlalchemy import func, select

from jury.cli import users_cli
from models import db
from models import User


@users_cli.command("unlock")
@click.argument("username")
def unlock_user_command(username: str) -> None:
    """Clear an account's failed-login count and lockout."""
    from jury import lockout

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
    from jury import users
    from models.errors import DomainError

    try:
        user = users.set_role(username, role, actor="cli")
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{user.username} is now {user.role}; their sessions have ended")


@users_cli.command("end-sessions")
@click.argument("username")
def end_sessions_command(username: str) -> None:
    """Sign an account out everywhere (a lost laptop, a leaked cookie), audited."""
    from jury import users

    user = users.by_username(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    users.end_sessions(user, "ended_by_admin", actor="cli")
    db.session.commit()
    click.echo(f"every session of {user.username} has ended")
