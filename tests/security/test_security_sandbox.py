"""The built-in sandbox network exists only where it is the network, and shows a removal's appeal link to
its author's session only."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from jury.demo import sandbox_network as sandbox
from models import SandboxAction, db
from tests.conftest import WEBHOOK_SECRET, make_app, signed


@pytest.mark.parametrize("adapter, extra", [
    ("mastodon", {"NETWORK_URL": "https://social.example", "NETWORK_TOKEN": "token"}),
    ("webhook", {"NETWORK_URL": "https://network.example/hooks"}),
])
def test_the_sandbox_is_not_mounted_under_another_network(tmp_path, request, adapter, extra):
    app = make_app("sqlite", tmp_path, request, NETWORK_ADAPTER=adapter, **extra)
    client = app.test_client()
    action = {"action_id": "a1", "type": "notify", "post_id": None, "account_id": "x", "case_id": "1",
              "rule": "spam", "statement_of_reasons": "see https://evil.example/appeal",
              "appeal_url": "https://evil.example/appeal"}
    body, headers = signed(action, secret=WEBHOOK_SECRET)
    assert client.post("/sandbox/moderation/actions", data=body, headers=headers).status_code == 404
    for path in ("/sandbox/", "/sandbox/accounts/x/relationships"):
        assert client.get(path).status_code == 404, path
    assert "Sandbox network" not in client.get("/login").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(SandboxAction.id)) is None


def removal(client, author: str, post_id: str, appeal_url: str) -> None:
    action = {"action_id": f"remove-{post_id}", "type": "remove_post", "post_id": post_id, "account_id": author,
              "case_id": "1", "rule": "harassment", "statement_of_reasons": "Removed.", "appeal_url": appeal_url}
    body, headers = signed(action, secret=WEBHOOK_SECRET)
    assert client.post("/sandbox/moderation/actions", data=body, headers=headers).status_code == 200


def browse_as(client, account: str):
    return client.post("/sandbox/as", data={"account": account})


def test_an_appeal_link_is_shown_to_its_authors_session_only(app, client):
    sandbox.add_posts([{"id": "p1", "author_id": "alice", "text": "one"},
                       {"id": "p2", "author_id": "bob", "text": "two"}])
    removal(client, "alice", "p1", "http://127.0.0.1:5000/appeal/alice-token")
    removal(client, "bob", "p2", "http://127.0.0.1:5000/appeal/bob-token")

    def links() -> list[str]:
        return re.findall(r'class="appeal-link" href="([^"]+)"', client.get("/sandbox/").get_data(as_text=True))

    assert links() == []  # a visitor sees that links exist, not the links
    assert "shown to the author" in client.get("/sandbox/").get_data(as_text=True)
    assert browse_as(client, "alice").status_code == 302
    assert links() == ["http://127.0.0.1:5000/appeal/alice-token"]
    browse_as(client, "bob")
    assert links() == ["http://127.0.0.1:5000/appeal/bob-token"]
    assert browse_as(client, "mallory").status_code == 400  # not an account of the network
    assert links() == ["http://127.0.0.1:5000/appeal/bob-token"]
    browse_as(client, "")
    assert links() == []
