"""Statements of reasons, the DSA Transparency Database JSON, the app-store report and the Art. 15 summary."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

import audit
from audit import exports
from audit.dsa import DsaStatement
from audit.exports import ExportInvalid, validate_statements
from jury.appeals import review as appeals
from jury.demo import sandbox_network as sandbox
from jury.panels import voting
from models import Action, Appeal, Case, Report, User, Verdict, Vote, db, utcnow
from tests.conftest import post_payload, report_payload
from triage import dealing

THREAT = "I know where you live and I will hurt you tonight."


@pytest.fixture
def jurors(make_user):
    # They read English and French: the history below holds a post in each.
    return [make_user(f"juror{i}", network_account_id=f"net-juror-{i}", languages=["en", "fr"]) for i in range(8)]


def decide(jurors, decision, rule=None):
    for juror in jurors:
        assignment = dealing.deal_next(juror)
        voting.cast_vote(assignment.case_id, juror, decision, rule)


@pytest.fixture
def history(api, jurors):
    """A removal after two reports, a keep after one, and an appeal of the removal, all today."""
    sandbox.add_posts([{"id": "p1", "author_id": "author-secret-1", "text": THREAT},
                       {"id": "p2", "author_id": "author-secret-2", "text": "Lovely weather for a walk."}])
    api.posts(post_payload("p1", THREAT, author="author-secret-1", lang="en"),
              post_payload("p2", "Lovely weather for a walk.", author="author-secret-2", lang="fr"))
    api.reports(report_payload("r1", "p1", reporter="reporter-secret-1", reason="violence_threat"),
                report_payload("r2", "p1", reporter="reporter-secret-2", reason="harassment"))
    decide(jurors[:3], "remove", "violence_threat")
    api.reports(report_payload("r3", "p2", reporter="reporter-secret-3", reason="spam"))
    decide(jurors[:3], "keep")
    removal = db.session.scalar(select(Verdict).where(Verdict.outcome == "remove"))
    appeals.file_appeal(removal.id, "author-secret-1", "It was a song lyric.", channel="api", actor="network")
    return removal


def today_range(runner_args=()):
    today = utcnow().date().isoformat()
    return ["--from", today, "--to", today, *runner_args]


def test_csv_and_jsonl_hold_every_decision_with_art17_contents_and_the_head_hash(history, runner, tmp_path):
    out = tmp_path / "sor.csv"
    result = runner.invoke(args=["audit", "export", *today_range(), "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    head_id, head_hash = audit.chain_head(db.session)
    assert head_hash in result.output
    manifest = json.loads((tmp_path / "sor.csv.manifest.json").read_text())
    assert manifest["audit_head_hash"] == head_hash and manifest["audit_head_event"] == head_id
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    posts = [r for r in rows if r["subject"] == "content"]
    assert len(posts) == db.session.scalar(select(func.count()).select_from(Verdict)) == 2
    # The violent threat's removal (3 strikes) suspended its author: the measure has its own row.
    [suspension] = [r for r in rows if r["subject"] == "account"]
    assert suspension["measure"] == "account suspension" and suspension["duration"] == "7 days"
    assert suspension["rule"] == "violence_threat" and suspension["dsa_category"] == "STATEMENT_CATEGORY_VIOLENCE"
    assert suspension["decision_method"] == "strike_policy" and suspension["post_id"] == ""
    assert suspension["puid"].startswith("jury-account-measure-") and "out-of-court" in suspension["redress"]
    assert [r["decided_at"] for r in rows] == sorted(r["decided_at"] for r in rows)
    removal = next(r for r in rows if r["measure"] == "removal")
    assert removal["source"] == "notice" and removal["report_count"] == "2"
    assert removal["ground_type"] == "contractual" and removal["rule"] == "violence_threat"
    assert removal["dsa_category"] == "STATEMENT_CATEGORY_VIOLENCE"
    assert removal["automated_decision"] == "False" and removal["decision_method"] == "quorum"
    assert "out-of-court" in removal["redress"] and removal["appeal_state"] == "pending"
    assert removal["territorial_scope"] and removal["duration"] == "indefinite"
    kept = next(r for r in rows if r["measure"] == "none")
    assert kept["ground"] == "" and kept["content_language"] == "FR"
    text = out.read_text()
    assert "secret" not in text and "juror" not in text.lower().replace("jurors", "")

    out = tmp_path / "sor.jsonl"
    result = runner.invoke(args=["audit", "export", *today_range(), "--format", "jsonl", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["puid"] for line in lines] == [row["puid"] for row in rows]
    assert "secret" not in out.read_text()


def test_csv_neutralises_hostile_post_ids(app, api, jurors, tmp_path):
    api.posts(post_payload("=HYPERLINK(\"http://evil\")", THREAT))
    api.reports(report_payload("r1", "=HYPERLINK(\"http://evil\")", reason="violence_threat"))
    decide(jurors[:3], "remove", "violence_threat")
    rows = list(csv.DictReader(io.StringIO(exports.export_bytes(
        db.session, utcnow() - timedelta(days=1), utcnow() + timedelta(days=1), "csv").decode())))
    assert rows[0]["post_id"].startswith("'=")


def test_dsa_json_is_valid_and_holds_only_removals_without_personal_data(history, runner, tmp_path):
    out = tmp_path / "dsa.json"
    result = runner.invoke(args=["audit", "export", *today_range(), "--format", "dsa", "--out", str(out)])
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text())
    # The removal, and the author's suspension it called for (a violent threat weighs 3 strikes).
    [statement, suspension] = body["statements"]
    assert suspension["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    DsaStatement.model_validate(statement)  # the field rules hold on what was written
    assert statement["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert statement["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert statement["incompatible_content_ground"].startswith("Violence or threats")
    assert statement["category"] == "STATEMENT_CATEGORY_VIOLENCE"
    assert statement["source_type"] == "SOURCE_ARTICLE_16"
    assert statement["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert statement["automated_detection"] in ("Yes", "No")
    assert statement["content_type"] == ["CONTENT_TYPE_TEXT"] and statement["content_language"] == "EN"
    assert re.fullmatch(r"[A-Za-z0-9_-]+", statement["puid"])
    assert statement["application_date"] == utcnow().date().isoformat()
    assert len(statement["decision_facts"]) <= 5000
    raw = out.read_text()
    assert "secret" not in raw and "p1" not in raw.replace("puid", "")


def test_an_illegal_content_removal_names_a_legal_ground(app, api, jurors):
    # A network clock set to 1970 must not block the export: the date falls back to receipt.
    api.reports(report_payload("r1", "p9", reason="illegal", post=post_payload(
        "p9", "Buy stolen cards here", created_at="1970-01-01T00:00:00Z")))
    decide(jurors[:3], "remove", "illegal")
    statement, suspension = exports.dsa_statements(db.session, utcnow() - timedelta(days=1),
                                                   utcnow() + timedelta(days=1))
    assert statement["decision_ground"] == suspension["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert statement["illegal_content_legal_ground"] and statement["illegal_content_explanation"]
    assert statement["content_date"] == utcnow().date().isoformat()


GOOD = {
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
    "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    "incompatible_content_ground": "Harassment", "incompatible_content_explanation": "Targets a person.",
    "decision_facts": "Reported and removed by a jury.", "content_type": ["CONTENT_TYPE_TEXT"],
    "content_date": "2026-01-02", "application_date": "2026-01-03",
    "category": "STATEMENT_CATEGORY_CYBER_VIOLENCE", "source_type": "SOURCE_ARTICLE_16",
    "automated_detection": "No", "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED", "puid": "jury-decision-1",
}


@pytest.mark.parametrize("change, field", [
    ({"puid": "jury decision 1"}, "puid"),
    ({"puid": "x" * 501}, "puid"),
    ({"category": "STATEMENT_CATEGORY_MADE_UP"}, "category"),
    ({"decision_visibility": None}, "at least one"),
    ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, "decision_visibility_other"),
    ({"incompatible_content_ground": None}, "incompatible_content_ground"),
    ({"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"}, "illegal_content_legal_ground"),
    ({"decision_facts": "x" * 5001}, "decision_facts"),
    ({"content_date": "1999-12-31"}, "content_date"),
    ({"application_date": "2019-12-31"}, "application_date"),
    ({"content_language": "en"}, "content_language"),
    ({"automated_detection": "yes"}, "automated_detection"),
    ({"territorial_scope": ["US"]}, "territorial_scope"),
    ({"author_id": "u1"}, "author_id"),  # unknown (personal) fields are refused
])
def test_statements_breaking_a_field_rule_are_refused(change, field):
    assert validate_statements([GOOD]) == [DsaStatement.model_validate(GOOD).payload()]
    with pytest.raises(ExportInvalid, match=field):
        validate_statements([GOOD, {**GOOD, **change}])


def test_an_invalid_dsa_export_is_not_written(history, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "puid", lambda verdict_id: f"decision #{verdict_id}")
    out = tmp_path / "dsa.json"
    result = runner.invoke(args=["audit", "export", *today_range(), "--format", "dsa", "--out", str(out)])
    assert result.exit_code != 0 and "not written" in result.output and "puid" in result.output
    assert not out.exists()


def test_bad_periods_are_refused(app, runner, tmp_path):
    out = str(tmp_path / "x.csv")
    assert runner.invoke(args=["audit", "export", "--from", "2026-02-01", "--to", "2026-01-01",
                               "--format", "csv", "--out", out]).exit_code == 2
    assert runner.invoke(args=["audit", "export", "--from", "yesterday", "--to", "2026-01-01",
                               "--format", "csv", "--out", out]).exit_code == 2
    assert runner.invoke(args=["audit", "report", *today_range(), "--out", str(tmp_path / "r.docx")]).exit_code == 2


def pdf_text(path) -> str:
    return " ".join(page.extract_text() for page in PdfReader(str(path)).pages)


def figure(text: str, label: str) -> str:
    # Long labels wrap in the PDF: any whitespace between their words.
    pattern = r"\s+".join(re.escape(word) for word in label.split())
    match = re.search(pattern + r"\s+(\S+)", text)
    assert match, f"{label!r} not in the report"
    return match.group(1)


def test_the_pdf_report_opens_and_its_figures_match_the_database(live_server, history, runner, tmp_path, jurors):
    # Make one more report wait: the appeal panel decides, so the appeal gets a decision time too.
    appeal = db.session.scalar(select(Appeal))
    decide(jurors[3:8], "remove", "violence_threat")
    out = tmp_path / "report.pdf"
    result = runner.invoke(args=["audit", "report", *today_range(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))
    assert figure(text, "Reports received") == str(count(Report)) == "3"
    assert figure(text, "Posts received") == "2"
    assert figure(text, "Posts auto-flagged") == str(count(Case, Case.origin == "auto_flagged"))
    assert figure(text, "Posts hidden pending review") == str(db.session.scalar(
        select(func.count(func.distinct(Action.post_external_id))).where(Action.type == "hide_post")))
    assert figure(text, "Appeals received") == "1"
    assert figure(text, "Overturned") == "0"
    assert figure(text, "Juror accounts") == str(count(User, User.role == "juror")) == "8"
    assert figure(text, "Votes cast") == str(count(Vote)) == "11"
    assert figure(text, "Reports decided within 24 hours") == "100.0%"
    assert figure(text, "Decisions (removed / kept)") == "2"
    # The removal reached the (sandbox) network: time from each report to it, median of the two.
    sent = db.session.scalar(select(Action.sent_at).where(Action.type == "remove_post", Action.state == "sent"))
    waits = sorted((sent - r).total_seconds() / 60 for r in db.session.scalars(
        select(Report.received_at).where(Report.reason != "spam")))
    expected = f"{(waits[0] + waits[1]) / 2:.0f}"
    assert figure(text, "Median time from report to removal on the network") == expected
    assert db.session.get(Appeal, appeal.id).state == "upheld"
    head = audit.chain_head(db.session)[1]
    assert head in re.sub(r"\s+", "", text)
    assert "Guideline 1.2" in text and "Google Play" in text
    for username in db.session.scalars(select(User.username)):
        assert username not in text  # jurors appear only under pseudonyms
    assert re.search(r"J-[0-9a-f]{8}", text)


def test_lead_downloads_reports_and_jurors_cannot(history, client, auth, make_user):
    make_user("lea", role="lead")
    auth.login("juror0")
    assert client.get("/lead/reports").status_code == 403
    assert client.get("/lead/reports/download/appstore.pdf").status_code == 403
    auth.logout()
    auth.login("lea")
    assert client.get("/lead/reports").status_code == 200
    today = utcnow().date().isoformat()
    html = client.get(f"/lead/reports/download/appstore.html?start={today}&end={today}")
    assert html.status_code == 200 and "attachment" in html.headers["Content-Disposition"]
    assert audit.chain_head(db.session)[1] in html.headers["X-Jury-Audit-Head"]
    assert "<script" not in html.get_data(as_text=True)
    pdf = client.get(f"/lead/reports/download/appstore.pdf?start={today}&end={today}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    summary = client.get(f"/lead/reports/download/transparency.json?start={today}&end={today}").get_json()
    assert summary["notices"]["received"] == 3
    assert client.get(f"/lead/reports/download/transparency.csv?start={today}&end={today}").status_code == 200
    assert client.get("/lead/reports/download/statements-dsa.json").status_code == 200
    assert client.get("/lead/reports/download/nope.txt").status_code == 404
    assert client.get("/lead/reports?start=2026-13-01").status_code == 400


def test_transparency_summary_counts_match_the_database(history, runner, tmp_path, jurors, make_user):
    appeal = db.session.scalar(select(Appeal))
    decide(jurors[3:8], "keep")
    appeals.sign_off(appeal.id, make_user("lea", role="lead"), True, "A lyric.")
    out = tmp_path / "t.json"
    result = runner.invoke(args=["audit", "transparency", *today_range(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["notices"]["received"] == 3
    assert data["notices"]["by_category"] == {"STATEMENT_CATEGORY_CYBER_VIOLENCE": 1,
                                              "STATEMENT_CATEGORY_SCAMS_AND_FRAUD": 1,
                                              "STATEMENT_CATEGORY_VIOLENCE": 1}
    assert data["notices"]["handled_by_automated_means"] == 0
    assert data["actions"]["removals"] == 1
    assert data["actions"]["by_ground"] == {"illegal_content": 0, "terms_and_conditions": 1}
    assert data["actions"]["by_detection"] == {"notice": 1}
    assert data["complaints"] == {"received": 1, "basis_by_rule": {"violence_threat": 1}, "upheld": 0,
                                  "reversed": 1, "pending": 0,
                                  "median_hours_to_decision": data["complaints"]["median_hours_to_decision"]}
    assert data["complaints"]["median_hours_to_decision"] is not None
    assert data["audit_head"]["hash"] == audit.chain_head(db.session)[1] or data["audit_head"]["intact"]
    out = tmp_path / "t.csv"
    assert runner.invoke(args=["audit", "transparency", *today_range(), "--format", "csv",
                               "--out", str(out)]).exit_code == 0
    rows = dict(csv.reader(io.StringIO(out.read_text())))
    assert rows["notices.received"] == "3" and rows["complaints.reversed"] == "1"
