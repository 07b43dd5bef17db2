"""One reporter cannot push a case up the queue: priority and category count distinct reporters,
and the sandbox's report form is rate-limited."""
from __future__ import annotations

from sqlalchemy import select

from jury.demo import sandbox_network as sandbox
from models import Case, Post, Verdict, db
from tests.conftest import make_app, post_payload, report_payload

TEXT = "Has anyone seen the new bridge by the harbour?"


def case_of(pid: str) -> Case:
    """The first-round case of a post."""
    db.session.expire_all()
    return db.session.scalar(select(Case).join(Post, Post.id == Case.post_id).where(Post.external_id == pid))


def flood(pid: str, reporters: list[str], reason: str = "spam", prefix: str = "") -> list[dict]:
    """One report of `pid` per entry of `reporters` (repeat a name to report again)."""
    return [report_payload(f"{prefix}{pid}-r{n}", pid, reporter=who, reason=reason, post=post_payload(pid, TEXT))
            for n, who in enumerate(reporters)]


def test_twenty_reports_by_one_reporter_rank_like_one_and_twenty_reporters_rank_higher(api):
    assert api.reports(*flood("one-x20", ["flooder"] * 20), *flood("one-x1", ["someone"]),
                       *flood("twenty", [f"user-{n}" for n in range(20)])).status_code == 202
    flooded, single, crowd = case_of("one-x20"), case_of("one-x1"), case_of("twenty")
    assert flooded.base_priority == single.base_priority and flooded.priority == single.priority
    assert crowd.priority > flooded.priority + 5
    # The count shown to leads and jurors stays the number of reports received.
    assert (flooded.report_count, single.report_count, crowd.report_count) == (20, 1, 20)
    # Later repeats by the same reporter change nothing either.
    before = single.base_priority
    api.reports(*flood("one-x1", ["someone"] * 19, prefix="again-"))
    assert case_of("one-x1").base_priority == before and case_of("one-x1").report_count == 20
    # A second person does raise it.
    api.reports(*flood("one-x1", ["another"], prefix="other-"))
    assert case_of("one-x1").base_priority > before


def test_the_category_counts_each_reporter_once(api):
    api.reports(*flood("p1", ["flooder"] * 20, reason="spam"),
                *flood("p1", ["ann", "bob"], reason="harassment", prefix="h-"))
    assert case_of("p1").category == "harassment"


def test_the_sandbox_report_form_answers_429_after_its_limit(tmp_path, request, monkeypatch):
    app = make_app("sqlite", tmp_path, request)  # the default: 10 a minute per client
    forwarded = []
    monkeypatch.setattr(sandbox, "report_post", lambda external_id, reason, reporter_id: forwarded.append(reason))
    with app.app_context():
        sandbox.add_posts([{"id": "s1", "author_id": "a", "text": TEXT}])
        client = app.test_client()
        answers = [client.post("/sandbox/posts/s1/report", data={"reason": "spam"}).status_code for _ in range(11)]
        assert answers == [302] * 10 + [429]
        assert len(forwarded) == 10
        # Another visitor still may.
        other = client.post("/sandbox/posts/s1/report", data={"reason": "spam"},
                            environ_base={"REMOTE_ADDR": "10.0.0.7"})
        assert other.status_code == 302 and len(forwarded) == 11
        db.session.remove()


def test_the_sandbox_report_limit_is_configurable(tmp_path, request, monkeypatch):
    app = make_app("sqlite", tmp_path, request, SANDBOX_REPORT_RATE_LIMIT="2/minute")
    monkeypatch.setattr(sandbox, "report_post", lambda *args, **kwargs: None)
    with app.app_context():
        sandbox.add_posts([{"id": "s1", "author_id": "a", "text": TEXT}])
        client = app.test_client()
        answers = [client.post("/sandbox/posts/s1/report", data={"reason": "spam"}) for _ in range(3)]
        assert [a.status_code for a in answers] == [302, 302, 429]
        assert "Too many requests" in answers[-1].get_data(as_text=True)
        db.session.remove()


def test_an_appeal_case_counts_reporters_not_reports(api, make_user):
    from jury.appeals import review as appeals
    from jury.panels import voting
    from triage import dealing
    from triage import priority as prio
    from triage.policy import current_policy

    threat = "I know where you live and I will hurt you tonight."
    api.reports(*[report_payload(f"r{n}", "p1", reporter="flooder", reason="violence_threat",
                                 post=post_payload("p1", threat)) for n in range(20)])
    for n in range(3):
        juror = make_user(f"juror{n}")
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "remove", "violence_threat")
    first = case_of("p1")
    verdict_id = db.session.scalar(select(Verdict.id).where(Verdict.case_id == first.id))
    appeal = appeals.file_appeal(verdict_id, "author-1", "It was a quote from a film.", channel="link",
                                 actor="appellant:link")
    appeal_case = db.session.get(Case, appeal.appeal_case_id)
    weights = current_policy().settings["priority_weights"]
    assert appeal_case.base_priority == prio.base_priority(appeal_case.severity, 1, weights)
