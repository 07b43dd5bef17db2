"""Intake makes each author an account: once, with the handle and display name the network sends."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from models import Account, Post, db
from models.account import DISPLAY_NAME_MAX_CHARS, HANDLE_MAX_CHARS
from tests.conftest import post_payload, report_payload


def accounts() -> list[Account]:
    db.session.expire_all()
    return list(db.session.scalars(select(Account).order_by(Account.external_id)))


def test_each_author_gets_one_account_and_a_later_handle_fills_it(api):
    assert api.posts(post_payload("p1", author="u1"), post_payload("p2", author="u1"),
                     post_payload("p3", author="u2", author_handle="bob@social.example")).status_code == 202
    assert [(a.external_id, a.handle, a.display_name, a.state) for a in accounts()] == [
        ("u1", None, None, "active"), ("u2", "bob@social.example", None, "active")]
    api.posts(post_payload("p4", author="u1", author_handle="alice", author_display_name="Alice"))
    # A post without them never erases what is known; a new handle replaces the old one.
    api.posts(post_payload("p5", author="u1"), post_payload("p6", author="u2", author_handle="bob@new.example"))
    found = {a.external_id: (a.handle, a.display_name) for a in accounts()}
    assert found == {"u1": ("alice", "Alice"), "u2": ("bob@new.example", None)}


def test_a_resent_post_still_updates_its_author_and_the_last_handle_in_a_batch_wins(api):
    api.posts(post_payload("p1", author="u1"))
    response = api.posts(post_payload("p1", author="u1", author_handle="first"),
                         post_payload("p2", author="u1", author_handle="second", author_display_name=""))
    assert response.get_json()["duplicates"] == 1
    assert [(a.handle, a.display_name) for a in accounts()] == [("second", None)]


def test_a_report_carrying_its_post_creates_the_author(api):
    api.reports(report_payload("r1", "p1", post=post_payload("p1", author="u7", author_display_name="Seven")))
    assert [(a.external_id, a.display_name) for a in accounts()] == [("u7", "Seven")]


@pytest.mark.parametrize(("field", "value"), [
    ("author_handle", "bad\nhandle"), ("author_handle", "x" * (HANDLE_MAX_CHARS + 1)), ("author_handle", ""),
    ("author_display_name", "d" * (DISPLAY_NAME_MAX_CHARS + 1)), ("author_display_name", 7),
])
def test_bad_handles_and_display_names_are_refused_and_nothing_is_stored(api, field, value):
    response = api.posts(post_payload("p1", **{field: value}))
    assert response.status_code == 400 and response.get_json()["field"] == f"posts[0].{field}"
    assert accounts() == [] and db.session.scalar(select(func.count()).select_from(Post)) == 0


def test_hostile_display_names_are_kept_as_text(api):
    api.posts(post_payload("p1", author="<script>alert(1)</script>", author_handle="<b>x</b>",
                           author_display_name="evil\x00name <img src=x>"))
    account = accounts()[0]
    assert account.external_id == "<script>alert(1)</script>" and account.handle == "<b>x</b>"
    assert account.display_name == "evil\ufffdname <img src=x>"


def test_the_openapi_document_describes_the_author_fields(client):
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["PostIn"]
    handle = schema["properties"]["author_handle"]["anyOf"][0]
    assert handle["maxLength"] == HANDLE_MAX_CHARS and "author_handle" not in schema.get("required", [])
    assert schema["properties"]["author_display_name"]["anyOf"][0]["maxLength"] == DISPLAY_NAME_MAX_CHARS


@pytest.mark.postgres
def test_intakes_racing_on_one_new_author_create_one_account(pg_app):
    """Eight batches at once, each a post by the same new author: one account, eight posts."""
    from triage import intake
    from triage.schemas import PostIn

    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def send(n: int) -> None:
        with pg_app.app_context():
            try:
                start.wait(30)
                post = PostIn(id=f"race{n}", author_id="newcomer", text="hello",
                              author_handle=f"handle{n % 2}" if n % 3 else None)
                intake.ingest_posts([post, PostIn(id=f"other{n}", author_id=f"solo{n}", text="hi")])
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    found = accounts()
    assert len(found) == 9 and [a.external_id for a in found].count("newcomer") == 1
    assert next(a for a in found if a.external_id == "newcomer").handle in ("handle0", "handle1")
    assert db.session.scalar(select(func.count()).select_from(Post)) == 16


def test_the_openapi_document_publishes_the_outbound_account_actions(client):
    document = client.get("/api/v1/openapi.json").get_json()
    action = document["components"]["schemas"]["ModerationAction"]
    assert {"warn_account", "suspend_account", "unsuspend_account"} <= set(action["properties"]["type"]["enum"])
    assert action["properties"]["duration_days"]["type"] == ["integer", "null"]
    assert {"strike_count", "verdict_ids"} <= set(action["properties"])
    body = document["webhooks"]["moderationAction"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ModerationAction"}
