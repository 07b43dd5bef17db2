"""The on-call page and a critical case's referral packet (DSA Art. 18), on both databases."""
from __future__ import annotations

import json

from sqlalchemy import select

import audit
from jury.panels import voting
from models import AuditEvent, Case, Post, db
from tests.conftest import post_payload, report_payload, sign_in
from triage import dealing

THREAT = "I know where you live and I will hurt you and your family tonight."
HOSTILE = '<script>alert("x")</script>\u202e see you at the harbour match'


def case_of(pid: str) -> Case:
    db.session.expire_all()
    return db.session.scalar(select(Case).join(Post, Post.id == Case.post_id).where(Post.external_id == pid))


def threat_by_reports(api, pid: str, text: str) -> Case:
    for who in ("ann", "bob"):
        api.reports(report_payload(f"{pid}-{who}", pid, reporter=who, reason="violence_threat",
                                   post=post_payload(pid, text, author="<b>author</b>")))
    return case_of(pid)


def test_the_oncall_page_lists_open_threats_by_deadline_escaped_and_reloads_itself(api, client, lead):
    case = threat_by_reports(api, "h1", HOSTILE)
    api.posts(post_payload("calm", "Lovely weather today."))
    page = client.get("/lead/oncall")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="critical-{case.id}"' in html and "2 reporters reported a violent threat" in html
    assert 'data-refresh-url="/lead/oncall/fragment" data-refresh-seconds="30"' in html
    fragment = client.get("/lead/oncall/fragment").get_data(as_text=True)
    assert f'id="critical-{case.id}"' in fragment and "<h1>" not in fragment
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html and "&lt;b&gt;author" in html
    assert "in 6" in html or "in 5" in html  # due within the hour
    assert "calm" not in html and "1</strong> open" in html


def test_jurors_cannot_open_the_oncall_page_or_export(app, client, make_user):
    juror = make_user("juror-x")
    with client.session_transaction() as session:
        sign_in(session, juror.id)
    assert client.get("/lead/oncall").status_code == 403
    assert client.post("/lead/cases/1/referral").status_code == 403


def test_the_referral_packet_keeps_the_evidence_after_the_removal(api, client, lead, jurors):
    case = threat_by_reports(api, "t1", THREAT)
    for juror in jurors[:3]:
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "remove", "violence_threat")
    assert case_of("t1").state in ("decided", "actioned")
    response = client.post(f"/lead/cases/{case.id}/referral")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="referral-case-{case.id}.json"'
    packet = json.loads(response.get_data(as_text=True))
    assert packet["kind"] == "jury-referral-packet" and "Article 18" in packet["legal_basis"]
    assert packet["exported_by"] == "lead"
    assert packet["evidence_at_entry"]["post"]["text"] == THREAT
    assert packet["post_now"]["unchanged_since_entry"] is True
    assert [r["reporter_id"] for r in packet["reports"]] == ["ann", "bob"]
    assert packet["author"]["external_id"] == "<b>author</b>" and packet["author"]["strikes"]
    [decision] = packet["decisions"]
    assert decision["outcome"] == "remove" and decision["tally"]["remove"] == 3
    raw = json.dumps(packet)
    assert not any(juror.username in raw for juror in jurors)  # who voted stays out
    # Every event is sealed into the chain, the head is given, and the export itself is recorded.
    kinds = [event["type"] for event in packet["audit_events"]]
    assert "critical_case" in kinds and "case_opened" in kinds
    assert all(event["hash"] for event in packet["audit_events"])
    assert packet["audit_chain_head"]["hash"] == audit.chain_head(db.session)[1]
    assert db.session.scalar(select(AuditEvent.actor).where(AuditEvent.event_type == "referral_exported")) == (
        f"user:{lead.id}")


def test_a_case_outside_the_lane_has_no_packet_and_an_unknown_one_is_404(api, client, lead):
    api.reports(report_payload("r1", "p1", reason="spam", post=post_payload("p1", "Buy followers")))
    assert client.post(f"/lead/cases/{case_of('p1').id}/referral").status_code == 409
    assert client.post("/lead/cases/99999/referral").status_code == 404


def test_the_cli_writes_the_packet(api, runner, tmp_path):
    case = threat_by_reports(api, "t1", THREAT)
    out = tmp_path / "packet.json"
    result = runner.invoke(args=["audit", "referral", str(case.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["case"]["id"] == case.id and "sha256" in result.output
    other = runner.invoke(args=["audit", "referral", "99999", "--out", str(out)])
    assert other.exit_code == 1 and "no case 99999" in other.output
