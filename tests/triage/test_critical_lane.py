"""The critical lane, on both databases: credible threats to life are hidden at once, dealt first, due
within the hour, announced to the on-call URL with a signed alert that is retried until it lands,
and their evidence is kept in the audit trail."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest
from sqlalchemy import select, update

from jury.tasks import sweeper
from models import Action, AuditEvent, Case, MutedReporter, Post, db, utcnow
from network.signing import SCHEMES, SIGNATURE_HEADER, verify
from tests.conftest import at_once, post_payload, report_payload
from triage import cases, critical, dealing, intake
from triage.policy import PolicyError, current_policy, publish_policy
from triage.schemas import PostIn, ReportIn

THREAT = "I know where you live and I will hurt you and your family tonight."
LAWFUL = "See you all at the harbour match tonight, bring scarves!"
SECRET = "oncall-secret-for-tests"
HOOK_PATH = "/pager/hooks/jury"


class Pager:
    """An on-call receiver: checks the v2 signature, records each alert, fails the first `failures`."""

    def __init__(self, failures: int = 0):
        self.failures, self.seen = failures, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                verify(SECRET, body, self.headers.get(SIGNATURE_HEADER), method="POST", path=HOOK_PATH,
                       schemes=SCHEMES)
                outer.seen.append({"key": self.headers.get("Idempotency-Key"), **json.loads(body)})
                self.send_response(503 if len(outer.seen) <= outer.failures else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{HOOK_PATH}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pager(app):
    receiver = Pager()
    app.config.update(ONCALL_WEBHOOK_URL=receiver.url, ONCALL_WEBHOOK_SECRET=SECRET)
    yield receiver
    receiver.close()


def case_of(pid: str) -> Case:
    db.session.expire_all()
    return db.session.scalar(select(Case).join(Post, Post.id == Case.post_id).where(Post.external_id == pid))


def actions(case_id: int, kind: str) -> list[Action]:
    return list(db.session.scalars(select(Action).where(Action.case_id == case_id, Action.type == kind)))


def report(api, pid: str, reporter: str, text: str = LAWFUL, reason: str = "violence_threat") -> None:
    answer = api.reports(report_payload(f"{pid}-{reporter}", pid, reporter=reporter, reason=reason,
                                        post=post_payload(pid, text, author="author-1")))
    assert answer.status_code == 202, answer.get_data(as_text=True)


def test_a_post_the_model_rates_a_threat_joins_the_lane_hidden_first_and_due_within_the_hour(api, pager):
    api.posts(post_payload("t1", THREAT, author="author-1"))
    case = case_of("t1")
    assert case.critical_at is not None and case.critical_reason.startswith("model threat score")
    assert case.severity == 3 and case.priority >= critical.PRIORITY_BOOST
    assert case.sla_deadline - case.opened_at == timedelta(hours=current_policy().sla_hours(3))
    # Hidden once (not a second time by the interim-hide threshold), and on-call told once.
    assert len(actions(case.id, "hide_post")) == 1
    [alert] = pager.seen
    assert alert["type"] == "critical_case" and alert["case_id"] == str(case.id) and alert["post_id"] == "t1"
    assert alert["case_url"].endswith(f"/cases/{case.id}") and alert["oncall_url"].endswith("/lead/oncall")
    assert THREAT not in json.dumps(alert)  # the text stays in Jury
    [sent] = actions(case.id, "critical_case")
    assert sent.state == "sent" and alert["key"] == sent.idempotency_key == alert["alert_id"]
    # The evidence as it stood, in the audit trail.
    kept = db.session.scalar(select(AuditEvent.payload).where(AuditEvent.event_type == "critical_case"))
    assert kept["post"]["text"] == THREAT and kept["scores"] and kept["author"]["external_id"] == "author-1"
    assert len(kept["post"]["sha256"]) == 64


def test_two_people_reporting_a_violent_threat_open_the_lane_and_one_does_not(api, pager):
    report(api, "l1", "ann")
    case = case_of("l1")
    assert case.critical_at is None and actions(case.id, "hide_post") == [] and pager.seen == []
    opened, first_deadline = case.opened_at, case.sla_deadline
    # A muted reporter counts for nothing.
    db.session.add(MutedReporter(reporter_id="troll", reason="a wave of false reports"))
    db.session.commit()
    report(api, "l1", "troll")
    assert case_of("l1").critical_at is None
    report(api, "l1", "bob")
    case = case_of("l1")
    assert case.critical_reason.startswith("2 reporters reported a violent threat")
    assert case.sla_deadline <= first_deadline and case.sla_deadline <= utcnow() + timedelta(hours=1)
    assert case.opened_at == opened and len(actions(case.id, "hide_post")) == 1 and len(pager.seen) == 1
    # More reports change nothing more: one entry, one hide, one alert.
    report(api, "l1", "cem")
    assert len(actions(case.id, "hide_post")) == 1 and len(pager.seen) == 1
    assert case_of("l1").priority >= critical.PRIORITY_BOOST


def test_the_lane_is_dealt_before_every_other_case(api, app, make_user):
    # Graver on paper (one threat report and nine more reporters each), but not in the lane.
    for n in range(5):
        report(api, f"busy-{n}", "x0", text=f"Buy followers {n}")
        for who in range(1, 10):
            report(api, f"busy-{n}", f"r{who}", text=f"Buy followers {n}", reason="hate")
    report(api, "urgent", "ann")
    report(api, "urgent", "bob")
    busy, urgent = case_of("busy-0"), case_of("urgent")
    assert busy.severity == urgent.severity == 3 and busy.critical_at is None
    assert urgent.priority > busy.priority + 100
    juror = make_user("juror-a")
    assert dealing.deal_next(juror).case_id == urgent.id
    assert current_policy().settings["critical"] == {"threat_score": 0.85, "reporters": 2}


def test_an_oncall_url_that_is_down_loses_no_alert(api, pager):
    pager.failures = 2
    api.posts(post_payload("t1", THREAT))
    [alert] = actions(case_of("t1").id, "critical_case")
    assert alert.state == "failed" and alert.attempts == 1 and "503" in alert.last_error
    for _ in range(2):
        db.session.execute(update(Action).where(Action.id == alert.id).values(next_attempt_at=utcnow()))
        db.session.commit()
        sweeper.requeue_actions()
    db.session.expire_all()
    alert = db.session.get(Action, alert.id)
    assert alert.state == "sent" and alert.attempts == 3
    assert len({seen["key"] for seen in pager.seen}) == 1 and len(pager.seen) == 3


def test_an_unreachable_oncall_url_is_retried_not_dropped(api, app):
    app.config.update(ONCALL_WEBHOOK_URL="http://127.0.0.1:9/nothing-listens", ONCALL_WEBHOOK_SECRET=SECRET)
    api.posts(post_payload("t1", THREAT))
    [alert] = actions(case_of("t1").id, "critical_case")
    assert alert.state == "failed" and alert.next_attempt_at > utcnow()
    assert "connection" in alert.last_error.lower()


def test_without_an_oncall_url_the_case_still_joins_the_lane(api):
    api.posts(post_payload("t1", THREAT))
    case = case_of("t1")
    assert case.critical_at is not None and actions(case.id, "critical_case") == []
    assert len(actions(case.id, "hide_post")) == 1


def test_a_policy_can_raise_the_bar_or_close_the_report_path(api):
    publish_policy({"critical": {"threat_score": 1.0, "reporters": 0}}, reason="only certain threats", actor="t")
    db.session.commit()
    current_policy(fresh=True)
    report(api, "l1", "ann")
    report(api, "l1", "bob")
    assert case_of("l1").critical_at is None
    for bad, message in (({"threat_score": 0}, "threat_score must be over 0"),
                         ({"reporters": -1}, "reporters must be a whole number"),
                         ({"reporters": 1.5}, "reporters must be a whole number"),
                         ({"score": 0.5}, "critical holds threat_score and reporters only")):
        with pytest.raises(PolicyError, match=message):
            publish_policy({"critical": bad}, reason="x", actor="t")


def test_the_reason_names_what_opened_the_lane():
    settings = {"threat_score": 0.8, "reporters": 2}
    assert critical.reason_for([], {"threat": 0.93}, settings) == "model threat score 0.93 (the lane opens at 0.8)"
    assert critical.reason_for([("a", "violence_threat"), ("a", "violence_threat")], {"threat": 0.1}, settings) is None
    assert critical.reason_for([("a", "violence_threat"), ("b", "violence_threat")], None, settings).startswith("2 ")
    assert critical.reason_for([("a", "hate"), ("b", "hate")], {"threat": 0.79}, settings) is None


def test_the_alert_matches_the_schema_the_openapi_document_publishes(api, client, pager):
    api.posts(post_payload("t1", THREAT))
    document = client.get("/api/v1/openapi.json").get_json()
    schema = document["components"]["schemas"]["CriticalCase"]
    body = document["webhooks"]["criticalCase"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/CriticalCase"}
    [alert] = pager.seen
    jsonschema.validate({k: v for k, v in alert.items() if k != "key"}, schema)
    assert set(schema["required"]) <= set(alert)


# --- two report batches at once, on PostgreSQL ----------------------------------------------


@pytest.mark.postgres
def test_two_report_batches_that_each_open_the_lane_at_once_enter_it_once(pg_app, monkeypatch):
    """Each batch adds the second violent-threat report in its own transaction and reads the post's
    reports before the other commits, so each sees two reporters and the case not yet in the lane:
    the case still enters it once (one evidence event, one hide). The post's lock (triage.cases)
    serialises such batches; it is lifted here, so that the lane's own guard is what is tested."""
    # Unclustered: a clustered post's batches take its cluster's lock first (triage.cluster_cases),
    # which serialises them before they read the reports.
    publish_policy({**current_policy(fresh=True).settings, "clusters": {"enabled": False}}, reason="test",
                   actor="test")
    db.session.commit()
    intake.ingest_posts([PostIn(id="lane-race", author_id="author-1", text=LAWFUL)])
    intake.ingest_reports([ReportIn(id="r0", post_id="lane-race", reporter_id="first", reason="violence_threat")])
    assert case_of("lane-race").critical_at is None
    read = threading.Barrier(2, timeout=30)
    real = cases.reports_of

    def reports_then_wait(post_ids):
        found = real(post_ids)
        read.wait()  # both batches have read two reporters before either marks the case
        return found

    monkeypatch.setattr(cases, "reports_of", reports_then_wait)
    monkeypatch.setattr(cases, "_lock_posts", lambda post_ids: None)
    def send(n: int):
        return lambda: intake.ingest_reports([ReportIn(id=f"r{n + 1}", post_id="lane-race",
                                                       reporter_id=f"second-{n}", reason="violence_threat")])

    assert at_once(pg_app, [send(0), send(1)]) == []
    case = case_of("lane-race")
    assert case.critical_at is not None
    evidence = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "critical_case",
                                                           AuditEvent.subject_id == str(case.id))).all()
    assert len(evidence) == 1
    assert len(actions(case.id, "hide_post")) == 1
