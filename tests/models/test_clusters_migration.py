"""Migration 0016 adds clusters to a database with posts in it, and downgrades cleanly."""
from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from jury import create_app
from models import Post, db
from tests.conftest import base_config
from tests.models.test_accounts_migration import old_posts


def test_the_upgrade_leaves_earlier_posts_unclustered_and_the_downgrade_removes_clusters(fresh_url, tmp_path):
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=fresh_url))
    with app.app_context():
        upgrade(revision="0015")
        old_posts(["alice", "bob"])
        db.session.remove()
        upgrade()
        posts = db.session.scalars(select(Post)).all()
        assert len(posts) == 2
        assert all(p.cluster_id is None and p.fingerprint is None and p.cluster_similarity is None for p in posts)
        assert {"clusters", "cluster_bands"} <= set(inspect(db.engine).get_table_names())
        db.session.remove()
        downgrade(revision="0015")
        inspector = inspect(db.engine)
        assert not {"clusters", "cluster_bands"} & set(inspector.get_table_names())
        columns = {c["name"] for c in inspector.get_columns("posts")}
        assert not {"fingerprint", "cluster_id", "cluster_similarity"} & columns
        assert db.session.execute(text("SELECT count(*) FROM posts")).scalar() == 2
        db.session.remove()
        upgrade()
        assert len(db.session.scalars(select(Post)).all()) == 2
        db.engine.dispose()
