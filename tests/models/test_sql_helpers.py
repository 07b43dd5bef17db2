"""The idempotent batch insert that intake, scoring and case opening share, on both backends."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, select, text

from models import Account, Post, Report, SandboxPost, db
from models.sql import insert_ignore, upsert_filling


def _post(external_id: str, **extra) -> dict:
    row = {"external_id": external_id, "author_id": "a1", "text": f"text of {external_id}",
           "lang": None, "url": None, "created_at": None, "received_at": datetime.now(UTC),
           "state": "visible", "content_hash": "0" * 64, "score_requested_at": None}
    row.update(extra)
    return row


def test_only_new_rows_are_inserted_and_their_ids_returned(app):
    first = insert_ignore(Post, [_post("p1"), _post("p2")], ("external_id",), Post.id)
    again = insert_ignore(Post, [_post("p2", text="changed"), _post("p3")], ("external_id",), Post.id)
    db.session.commit()
    stored = dict(db.session.execute(select(Post.external_id, Post.text)).all())
    assert len(first) == 2 and len(again) == 1
    assert again[0] == db.session.scalar(select(Post.id).where(Post.external_id == "p3"))
    # The second sending of p2 changed nothing: the first stored version stays.
    assert stored == {"p1": "text of p1", "p2": "text of p2", "p3": "text of p3"}


def test_a_naive_timestamp_is_stored_as_utc_and_nulls_survive(app):
    naive = datetime(2026, 3, 1, 12, 30)
    if db.engine.dialect.name == "postgresql":
        # A server in another zone must not shift it: naive means UTC (models.base.UTCDateTime).
        db.session.execute(text("SET TIME ZONE 'America/New_York'"))
    insert_ignore(Post, [_post("p1", created_at=naive, lang="fr"), _post("p2")], ("external_id",), Post.id)
    db.session.commit()
    p1, p2 = db.session.scalars(select(Post).order_by(Post.external_id)).all()
    assert p1.created_at == naive.replace(tzinfo=UTC) and p1.lang == "fr"
    assert p2.created_at is None and p2.lang is None


def test_left_out_columns_get_the_models_defaults(app):
    before = datetime.now(UTC)
    insert_ignore(SandboxPost, [{"external_id": "s1", "author_id": "a", "text": "hi"}],
                  ("external_id",), SandboxPost.id)
    db.session.commit()
    post = db.session.scalar(select(SandboxPost))
    assert post.state == "visible" and post.updated_at >= before


def test_hostile_text_is_stored_byte_for_byte(app):
    hostile = "'); DROP TABLE posts; -- \u202e\u200b<script>alert(1)</script> {c0} %(c1)s :c2 \\x"
    insert_ignore(Post, [_post("p1", text=hostile)], ("external_id",), Post.id)
    db.session.commit()
    assert db.session.scalar(select(Post.text)) == hostile


def test_a_batch_of_any_size_is_one_and_the_same_statement_on_postgresql(pg_app):
    statements = []
    listener = lambda conn, cursor, sql, params, context, many: statements.append(sql)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        ids = insert_ignore(Post, [_post(f"p{i}") for i in range(500)], ("external_id",), Post.id)
        insert_ignore(Post, [_post(f"q{i}") for i in range(3)], ("external_id",), Post.id)
        insert_ignore(Report, [{"external_id": f"r{i}", "post_id": ids[i], "reporter_id": "u",
                                "reason": "spam", "comment": None,
                                "received_at": datetime.now(UTC)} for i in range(50)],
                      ("external_id",), None)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    db.session.commit()
    inserts = [sql for sql in statements if sql.startswith("INSERT")]
    assert len(ids) == 500 and len(inserts) == 3
    # The text does not grow with the batch, so the driver parses it once and PostgreSQL prepares it.
    assert inserts[0] == inserts[1] and "unnest(" in inserts[0] and "unnest(" in inserts[2]
    assert db.session.query(Report).count() == 50 and db.session.query(Post).count() == 503


def _account(external_id: str, handle: str | None, name: str | None, at: datetime) -> dict:
    return {"external_id": external_id, "handle": handle, "display_name": name, "state": "active",
            "created_at": at, "updated_at": at}


def test_upsert_filling_inserts_new_keys_and_fills_only_what_a_row_brings(app):
    first, later = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    fill = {"fill_columns": ("handle", "display_name"), "touch_columns": ("updated_at",)}
    upsert_filling(Account, [_account("a", None, "A", first), _account("b", "bee", None, first),
                             _account("c", "sea", "C", first)], ("external_id",), **fill)
    upsert_filling(Account, [_account("a", "ay", None, later), _account("b", None, None, later),
                             _account("c", "sea", "C", later), _account("d", None, None, later)],
                   ("external_id",), **fill)
    db.session.commit()
    rows = {a.external_id: (a.handle, a.display_name, a.updated_at, a.created_at)
            for a in db.session.scalars(select(Account))}
    # "a" gains a handle and keeps its name; "b" and "c" bring nothing new, so nothing is written.
    assert rows == {"a": ("ay", "A", later, first), "b": ("bee", None, first, first),
                    "c": ("sea", "C", first, first), "d": (None, None, later, later)}
