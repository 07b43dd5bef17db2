"""Appeals: signed links, the relay API, a fresh panel, a lead's sign-off, and what reaches the network."""
from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

import audit
from jury.appeals import review as appeals
from jury.demo import sandbox_network as sandbox
from jury.panels import voting
from models import Action, Appeal, Case, Post, SandboxAction, SandboxPost, Verdict, db
from models.errors import Conflict, DomainError, Forbidden
from tests.conftest import post_payload, report_payload
from triage import appeal_links, dealing
from triage.policy import PolicyError, current_policy, publish_policy

THREAT = "I know where you live and I will hurt you tonight."


def remove_by_panel(api, jurors, pid="p1"):
    """A post reported, removed by a panel of three; returns the verdict."""
    sandbox.add_posts([{"id": pid, "author_id": "author-1", "text": THREAT}])
    api.posts(post_payload(pid, THREAT))
    api.reports(report_payload(f"r-{pid}", pid, reporter="reporter-1", reason="violence_threat"))
    for juror in jurors:
        assignment = dealing.deal_next(juror)
        voting.cast_vote(assignment.case_id, juror, "remove", "violence_threat")
    return db.session.scalar(select(Verdict).order_by(Verdict.id.desc()))


def sandbox_actions(kind=None):
    db.session.expire_all()
    query = select(SandboxAction).order_by(SandboxAction.id)
    if kind:
        query = query.where(SandboxAction.type == kind)
    return list(db.session.scalars(query))


def test_a_removal_carries_a_signed_appeal_link_that_names_only_the_verdict(live_server, api, jurors):
    verdict = remove_by_panel(api, jurors[:3])
    [removal] = sandbox_actions("remove_post")
    url = removal.payload["appeal_url"]
    assert url.startswith(live_server.url + "/appeal/")
    token = urlsplit(url).path.rsplit("/", 1)[1]
    assert appeal_links.read_token(token) == verdict.id
    assert "author-1" not in url
    # Notifications and keeps carry no link.
    assert all("appeal_url" not in a.payload for a in sandbox_actions("notify"))


def test_fresh_panel_overturns_lead_signs_off_and_the_post_is_restored(live_server, api, jurors, lead):
    verdict = remove_by_panel(api, jurors[:3])
    assert db.session.scalar(select(SandboxPost.state)) == "removed"
    appeal = appeals.file_appeal(verdict.id, "author-1", "It was a quote from a film, not a threat.",
                                 channel="link", actor="appellant:link")
    case = db.session.get(Case, appeal.appeal_case_id)
    assert (case.origin, case.review_round, case.panel_size) == ("appeal", 1, 5)
    # The original jurors are never dealt the appeal.
    for juror in jurors[:3]:
        assert dealing.deal_next(juror) is None
    for juror in jurors[3:8]:
        assignment = dealing.deal_next(juror)
        assert assignment.case_id == case.id
        voting.cast_vote(case.id, juror, "keep")
    db.session.expire_all()
    appeal = db.session.get(Appeal, appeal.id)
    assert appeal.state == "awaiting_signoff"
    # Nothing reaches the network before a lead signs off.
    assert sandbox_actions("restore_post") == []
    appeals.sign_off(appeal.id, lead, True, "Context shows a film quote.")
    db.session.expire_all()
    assert db.session.get(Appeal, appeal.id).state == "overturned"
    [restore] = sandbox_actions("restore_post")
    assert restore.post_id == "p1"
    assert db.session.scalar(select(SandboxPost.state)) == "visible"
    assert db.session.scalar(select(Post.state)) == "restored"
    told = {a.account_id: a.payload["statement_of_reasons"] for a in sandbox_actions("notify")
            if "appeal" in a.payload["statement_of_reasons"]}
    assert "succeeded" in told["author-1"] and "film quote" in told["author-1"]
    assert "restored after the author's appeal" in told["reporter-1"]
    assert db.session.get(Case, case.id).state == "actioned"
    audit.seal(db.session)
    assert audit.verify_chain(db.session)[1] is None


def test_an_upheld_appeal_tells_the_author_why_and_restores_nothing(live_server, api, jurors):
    verdict = remove_by_panel(api, jurors[:3])
    appeal = appeals.file_appeal(verdict.id, "author-1", "Please look again.", channel="api", actor="network")
    for juror in jurors[3:8]:
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "remove", "violence_threat")
    db.session.expire_all()
    assert db.session.get(Appeal, appeal.id).state == "upheld"
    assert sandbox_actions("restore_post") == []
    author_notes = [a.payload["statement_of_reasons"] for a in sandbox_actions("notify") if a.account_id == "author-1"]
    assert len(author_notes) == 1 and "decision stands" in author_notes[0] and "Article 21" in author_notes[0]


def test_appeal_panel_size_comes_from_the_policy(app, api, jurors):
    publish_policy({**current_policy().settings, "appeal_panel_size": 7}, reason="bigger appeal panels",
                   actor="test")
    db.session.commit()
    verdict = remove_by_panel(api, jurors[:3])
    appeal = appeals.file_appeal(verdict.id, "author-1", "Wrong.", channel="link", actor="t")
    assert db.session.get(Case, appeal.appeal_case_id).panel_size == 7
    with pytest.raises(PolicyError):
        publish_policy({**current_policy().settings, "appeal_panel_size": 0}, reason="bad", actor="test")


def test_one_appeal_per_decision_and_only_the_author_or_reporters(app, api, jurors):
    verdict = remove_by_panel(api, jurors[:3])
    with pytest.raises(Forbidden):
        appeals.file_appeal(verdict.id, "someone-else", "Me too.", channel="api", actor="network")
    with pytest.raises(DomainError, match="longer than 5000"):
        appeals.file_appeal(verdict.id, "author-1", "x" * 5001, channel="api", actor="network")
    with pytest.raises(DomainError):
        appeals.file_appeal(verdict.id, "author-1", "  \x00 ", channel="api", actor="network")
    appeals.file_appeal(verdict.id, "author-1", "First.", channel="link", actor="t")
    with pytest.raises(Conflict, match="already"):
        appeals.file_appeal(verdict.id, "author-1", "Second.", channel="api", actor="network")
    assert db.session.scalar(select(Appeal.id).where(Appeal.verdict_id == verdict.id)) is not None


def test_appeals_close_six_months_after_the_decision(app, api, jurors):
    verdict = remove_by_panel(api, jurors[:3])
    db.session.execute(update(Verdict).where(Verdict.id == verdict.id)
                       .values(decided_at=verdict.decided_at - timedelta(days=186)))
    db.session.commit()
    with pytest.raises(appeal_links.LinkExpired):
        appeals.file_appeal(verdict.id, "author-1", "Late.", channel="api", actor="network")


def test_a_lead_who_took_the_first_decision_cannot_sign_off(app, api, jurors, make_user):
    lead = make_user("lead2", role="lead")
    verdict = remove_by_panel(api, [lead, *jurors[:2]])
    appeal = appeals.file_appeal(verdict.id, "author-1", "Wrong.", channel="link", actor="t")
    for juror in jurors[3:8]:
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "keep")
    with pytest.raises(Forbidden, match="another lead"):
        appeals.sign_off(appeal.id, lead, True, "ok")
    with pytest.raises(Forbidden):
        appeals.sign_off(appeal.id, jurors[0], True, "ok")


def test_relay_api_files_an_appeal_and_refuses_bad_ones(app, api, jurors):
    remove_by_panel(api, jurors[:3])
    ok = api.post("/api/v1/appeals", {"post_id": "p1", "appellant_id": "author-1",
                                      "statement": "<script>alert(1)</script> not a threat"})
    assert ok.status_code == 201, ok.get_data(as_text=True)
    assert ok.get_json()["state"] == "pending"
    again = api.post("/api/v1/appeals", {"post_id": "p1", "appellant_id": "author-1", "statement": "again"})
    assert again.status_code == 409
    assert api.post("/api/v1/appeals", {"post_id": "nope", "appellant_id": "a", "statement": "x"}).status_code == 404
    too_long = api.post("/api/v1/appeals", {"post_id": "p1", "appellant_id": "author-1", "statement": "x" * 5001})
    assert too_long.status_code == 400 and too_long.get_json()["field"] == "statement"
    body = b'{"post_id":"p1","appellant_id":"author-1","statement":"x"}'
    unsigned = api.client.post("/api/v1/appeals", data=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    stale = api.post("/api/v1/appeals", {"post_id": "p1", "appellant_id": "author-1", "statement": "x"},
                     timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401
    doc = api.client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/appeals" in doc["paths"] and "AppealIn" in doc["components"]["schemas"]


def test_appeal_page_errors_for_tampered_expired_and_reused_links(app, client, api, jurors):
    verdict = remove_by_panel(api, jurors[:3])
    token = appeal_links.make_token(verdict.id, issued_at=verdict.decided_at.timestamp())
    page = client.get(f"/appeal/{token}")
    assert page.status_code == 200 and "Appeal a moderation decision" in page.get_data(as_text=True)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    bad = client.get(f"/appeal/{tampered}")
    assert bad.status_code == 400 and "not valid" in bad.get_data(as_text=True)
    old = appeal_links.make_token(verdict.id, issued_at=time.time() - 200 * 86400)
    expired = client.get(f"/appeal/{old}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    hostile = "<img src=x onerror=alert(1)> it was satire"
    sent = client.post(f"/appeal/{token}", data={"statement": hostile})
    assert sent.status_code == 201
    html = sent.get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    reused = client.post(f"/appeal/{token}", data={"statement": "again"})
    assert reused.status_code == 409 and "already used" in reused.get_data(as_text=True)
    assert client.get(f"/appeal/{token}").status_code == 409


def test_appeal_form_refuses_a_post_without_its_csrf_token(tmp_path, request, api_factory=None):
    from tests.conftest import Api, make_app

    app = make_app("sqlite", tmp_path, request, WTF_CSRF_ENABLED=True)
    with app.app_context():
        from jury.jurors import users

        jurors = [users.create_user(f"jj{i}", "correct horse battery", "juror") for i in range(3)]
        verdict = remove_by_panel(Api(app.test_client()), jurors)
        token = appeal_links.make_token(verdict.id)
        client = app.test_client()
        response = client.post(f"/appeal/{token}", data={"statement": "no token"})
        assert response.status_code == 400
        assert db.session.scalar(select(Appeal.id)) is None
        # The lead's sign-off form too.
        users.create_user("leadx", "correct horse battery", "lead")
        appeal = appeals.file_appeal(verdict.id, "author-1", "Wrong.", channel="link", actor="t")
        login_page = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
        assert client.post("/login", data={"username": "leadx", "password": "correct horse battery",
                                           "csrf_token": csrf}).status_code == 302
        refused = client.post(f"/lead/appeals/{appeal.id}/sign-off", data={"decision": "approve", "reason": "ok"})
        assert refused.status_code == 400
        db.session.remove()


def test_sign_off_page_lists_reversals_and_needs_a_reason(app, client, auth, api, jurors, lead):
    verdict = remove_by_panel(api, jurors[:3])
    appeal = appeals.file_appeal(verdict.id, "author-1", "Satire <b>bold</b>", channel="link", actor="t")
    for juror in jurors[3:8]:
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "keep")
    auth.login("juror0")
    assert client.get("/lead/appeals").status_code == 403
    auth.logout()
    auth.login("lea")
    page = client.get("/lead/appeals").get_data(as_text=True)
    assert f"appeal-{appeal.id}" in page and "Satire &lt;b&gt;bold&lt;/b&gt;" in page
    refused = client.post(f"/lead/appeals/{appeal.id}/sign-off", data={"decision": "approve", "reason": ""})
    assert refused.status_code == 400
    done = client.post(f"/lead/appeals/{appeal.id}/sign-off", data={"decision": "reject", "reason": "Threat is real."})
    assert done.status_code == 302
    assert db.session.get(Appeal, appeal.id).state == "upheld"
    assert db.session.scalar(select(Action.id).where(Action.type == "restore_post")) is None


def test_concurrent_appeals_on_one_decision_file_exactly_one(app, api, make_user):
    import threading

    jurors = [make_user(f"cj{i}") for i in range(3)]
    verdict_id = remove_by_panel(api, jurors).id
    db.session.remove()
    results: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(n: int) -> None:
        with app.app_context():
            try:
                barrier.wait(10)
                appeals.file_appeal(verdict_id, "author-1", f"attempt {n}", channel="api", actor="network")
                results.append("filed")
            except Conflict:
                results.append("conflict")
            except Exception as error:  # noqa: BLE001 - shown in the assertion
                results.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["conflict"] * 5 + ["filed"]
    assert db.session.scalar(select(func.count()).select_from(Appeal)) == 1
    assert db.session.scalar(select(func.count()).select_from(Case).where(Case.origin == "appeal")) == 1
    audit.seal(db.session)
    assert audit.verify_chain(db.session)[1] is None
