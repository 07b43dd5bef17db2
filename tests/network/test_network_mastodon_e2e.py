"""End to end: a Mastodon report becomes a case, the jury decides, the verdict lands on the instance."""
from __future__ import annotations

from datetime import timedelta

import pytest
from mastodon_mock import ADMIN_TOKEN, ALL_SCOPES, MockMastodon
from sqlalchemy import func, select, update

import audit
from jury.panels import voting
from models import Action, Case, Post, Verdict, db, utcnow
from tests.conftest import make_app
from triage import dealing, outbox
from triage import mastodon_reports as sync

SECRET = "test-webhook-secret"


@pytest.fixture
def mastodon():
    with MockMastodon() as server:
        server.add_account("100", "author")
        server.add_account("200", "reporter")
        server.add_account("201", "reporter2")
        server.add_status("9001", "100", "<p>I will find you and hurt you</p>")
        server.add_status("9002", "100", "<p>What a lovely day for a picnic</p>")
        server.add_report("11", "200", "100", ["9001"], category="violation",
                          rules=[{"id": "1", "text": "No violent threats"}])
        server.add_report("12", "201", "100", ["9001"], category="other", comment="scary")
        server.add_report("13", "200", "100", ["9002"], category="spam")
        yield server


@pytest.fixture
def app(backend, tmp_path, request, mastodon):
    app = make_app(backend, tmp_path, request, NETWORK_ADAPTER="mastodon", NETWORK_URL=mastodon.url,
                   NETWORK_TOKEN=ADMIN_TOKEN)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def jurors(make_user):
    return [make_user(f"juror{i}", network_account_id=f"juror-account-{i}") for i in range(3)]


def webhook(client, mastodon, report_id):
    body = mastodon.webhook_body(report_id)
    response = client.post("/api/v1/webhooks/mastodon", data=body,
                           headers={"X-Hub-Signature": MockMastodon.sign(SECRET, body),
                                    "Content-Type": "application/json"})
    assert response.status_code == 202, response.get_json()


def case_of(status_id: str) -> Case:
    post = db.session.scalar(select(Post).where(Post.external_id == status_id))
    return db.session.scalar(select(Case).where(Case.post_id == post.id))


def panel_decides(jurors, plan: dict[str, tuple[str, str | None]]) -> dict[str, str]:
    """Every juror sits on every open case (dealt in priority order) and votes as the plan says per status."""
    outcomes = {}
    for _ in plan:
        for juror in jurors:
            assignment = dealing.deal_next(juror)
            assert assignment is not None, f"{juror.username} was dealt nothing"
            case = db.session.get(Case, assignment.case_id)
            status_id = db.session.get(Post, case.post_id).external_id
            decision, rule = plan[status_id]
            outcomes[status_id] = voting.cast_vote(case.id, juror, decision, rule).outcome
    return outcomes


def test_a_reported_threat_is_removed_on_mastodon(client, mastodon, jurors):
    webhook(client, mastodon, "11")
    sync.poll_once()  # also brings report 12 (same status) and 13; nothing twice
    case = case_of("9001")
    assert case.report_count == 2
    outcomes = panel_decides(jurors, {"9001": ("remove", "violence_threat"), "9002": ("keep", None)})
    assert outcomes == {"9001": "remove", "9002": "keep"}

    db.session.expire_all()
    assert case_of("9001").state == "actioned"
    actions = db.session.scalars(select(Action).where(Action.case_id == case.id)).all()
    assert {a.state for a in actions} == {"sent"}
    assert mastodon.reports["11"]["resolved"] and mastodon.reports["12"]["resolved"]
    # The removal is a strike with the report; the status is left for the instance's moderators.
    # A violent threat's first strike also suspends the author for 7 days: on Mastodon, a silence.
    [strike] = [a for a in mastodon.account_actions if a["type"] == "none"]
    measures = [(a["account_id"], a["type"]) for a in mastodon.account_actions if a["type"] != "none"]
    assert measures == [("100", "silence")]
    assert strike["account_id"] == "100" and strike["type"] == "none"
    assert strike["report_id"] in ("11", "12") and "Violence or threats" in strike["text"]
    assert "deleted by this server's moderators" in strike["text"]
    assert not mastodon.statuses["9001"]["deleted"] and mastodon.calls(prefix="/api/v1/admin/statuses") == []
    # The kept post stays; its reporter's report is resolved with no strike.
    assert not mastodon.statuses["9002"]["deleted"] and mastodon.reports["13"]["resolved"]
    audit.seal(db.session)
    assert audit.verify_chain(db.session)[1] is None


def test_each_removal_records_one_strike_with_its_own_report(client, mastodon, jurors, make_user):
    sync.poll_once()
    panel_decides(jurors, {"9001": ("remove", "violence_threat"), "9002": ("remove", "spam")})
    strikes = sorted((a["type"], a["report_id"]) for a in mastodon.account_actions if a["type"] == "none")
    assert len(strikes) == 2 and strikes[0][1] in ("11", "12") and strikes[1][1] == "13"
    # The adapter climbs no ladder of its own: the one silence is Jury's suspend_account (the violent
    # threat's strike), sent once although two removals reached the account.
    assert [a["type"] for a in mastodon.account_actions if a["type"] != "none"] == ["silence"]
    assert db.session.scalar(select(func.count()).select_from(Action).where(Action.type == "suspend_account")) == 1
    assert mastodon.accounts["100"]["silenced"] and not mastodon.accounts["100"]["suspended"]


def test_a_rate_limited_action_waits_for_the_reset_then_lands(client, mastodon, jurors):
    webhook(client, mastodon, "11")
    mastodon.throttle, mastodon.reset_in = 1, 600
    panel_decides(jurors, {"9001": ("remove", "violence_threat")})
    db.session.expire_all()
    remove = db.session.scalar(select(Action).where(Action.type == "remove_post"))
    assert remove.state == "failed" and "429" in remove.last_error
    wait = (remove.next_attempt_at - utcnow()).total_seconds()
    assert 550 <= wait <= 601  # the reset, not the 15 s first backoff
    db.session.execute(update(Action).where(Action.id == remove.id)
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert outbox.deliver(remove.id) == "sent"
    assert mastodon.reports["11"]["resolved"]
    # The removal's strike landed once; the suspension the threat calls for went out as a silence.
    assert sorted(a["type"] for a in mastodon.account_actions) == ["none", "silence"]


def test_a_token_without_write_scopes_dead_letters_with_the_scope_named(client, mastodon, jurors):
    sync.poll_once()
    mastodon.tokens[ADMIN_TOKEN] = set(ALL_SCOPES) - {"admin:write:reports", "admin:write:accounts"}
    panel_decides(jurors, {"9001": ("keep", None), "9002": ("keep", None)})
    db.session.expire_all()
    notify = db.session.scalar(select(Action).where(Action.type == "notify"))
    assert notify.state == "dead" and "admin:write:reports" in notify.last_error
    assert ADMIN_TOKEN not in notify.last_error
    assert db.session.scalar(select(Verdict.outcome)) == "keep"


def test_network_timeout_and_the_breaker_key_reach_the_mastodon_client(app, mastodon):
    """NETWORK_TIMEOUT bounds each Mastodon API call, and the circuit breaker is keyed by the instance."""
    app.config["NETWORK_TIMEOUT"] = 2.5
    adapter = outbox.network_adapter()
    assert adapter.client.timeout == 2.5
    assert adapter.endpoint == mastodon.url.rstrip("/")
