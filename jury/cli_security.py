"""`flask users unlock NAME`: lift a login lockout from the command line (audited)."""
from __future__ import annotations

import click
from sqlalchemy import select

from jury.cli import users_cli
from jury.extensions import db
from models import User


@users_cli.command("unlock")
@click.argument("username")
def unlock_user_command(username: str) -> None:
    """Clear an account's failed-login count and lockout."""
    from jury import lockout

    user_id = db.session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise click.ClickException(f"no user {username!r}")
    lockout.unlock(user_id, actor="cli")
    click.echo(f"unlocked {username}")
