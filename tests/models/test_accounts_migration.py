"""Migration 0013 gives every author already known an account, once, and downgrades cleanly."""
from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import insert, inspect, select

from jury import create_app
from models import Account, Post, db, utcnow
from tests.conftest import base_config


def old_posts(authors: list[str]) -> None:
    """Posts as the release before 0013 stored them: an author is only an id string."""
    db.session.execute(insert(Post.__table__), [{
        "external_id": f"p{index}", "author_id": author, "text": "t", "received_at": utcnow(),
        "state": "visible", "content_hash": "0" * 64} for index, author in enumerate(authors)])
    db.session.commit()


def test_the_upgrade_creates_one_account_per_distinct_author_and_the_downgrade_drops_them(fresh_url, tmp_path):
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=fresh_url))
    with app.app_context():
        upgrade(revision="0012")
        old_posts(["alice", "bob", "alice", "<b>mallory</b>", "bob"])
        db.session.remove()
        upgrade()
        accounts = db.session.scalars(select(Account).order_by(Account.external_id)).all()
        assert [a.external_id for a in accounts] == ["<b>mallory</b>", "alice", "bob"]
        assert {a.state for a in accounts} == {"active"}
        assert all(a.handle is None and a.created_at is not None for a in accounts)
        db.session.remove()
        downgrade(revision="0012")
        tables = inspect(db.engine).get_table_names()
        assert "accounts" not in tables and "strikes" not in tables
        db.session.remove()
        upgrade()
        assert db.session.scalar(select(db.func.count()).select_from(Account)) == 3
        db.engine.dispose()
