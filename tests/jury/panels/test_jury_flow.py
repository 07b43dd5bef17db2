"""Dealing seats, blind votes, quorum verdicts, widening, escalation and the lead's decision."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

import audit
from jury.panels import verdicts, voting
from jury.tasks import sweeper
from models import Action, Assignment, AuditEvent, Case, Verdict, Vote, db, utcnow
from models.errors import Conflict, DomainError, NotFound
from tests.conftest import post_payload, report_payload
from triage import dealing
from triage.policy import current_policy, publish_policy


@pytest.fixture
def jurors(make_user):
    return [make_user(f"juror{i}", network_account_id=f"net-juror-{i}") for i in range(6)]


@pytest.fixture
def reported_case(api):
    api.posts(post_payload("p1", "You are all idiots and I hate this place", author="author-1"))
    api.reports(report_payload("r1", "p1", reporter="reporter-1", reason="harassment"))
    return db.session.scalar(select(Case))


def deal_and_vote(juror, decision, rule=None):
    assignment = dealing.deal_next(juror)
    assert assignment is not None, f"{juror.username} was dealt nothing"
    return voting.cast_vote(assignment.case_id, juror, decision, rule)


def test_three_votes_reach_a_verdict_with_policy_tally_and_method(reported_case, jurors):
    assert deal_and_vote(jurors[0], "remove", "harassment").outcome == "pending"
    assert deal_and_vote(jurors[1], "keep").outcome == "pending"
    assert deal_and_vote(jurors[2], "remove", "hate").outcome == "remove"
    verdict = db.session.scalar(select(Verdict))
    assert verdict.outcome == "remove" and verdict.method == "quorum"
    assert verdict.policy_version == current_policy().version
    assert verdict.tally == {"remove": 2, "keep": 1, "rules": {"harassment": 1, "hate": 1}}
    assert verdict.rule == "hate"  # a tie of equal severity goes to the earlier rule in the list
    db.session.expire_all()
    case = db.session.get(Case, reported_case.id)
    assert case.state in ("decided", "actioned") and case.decided_at is not None
    # The verdict queued its network actions: remove the post and tell the reporter.
    types = sorted(db.session.scalars(select(Action.type).where(Action.verdict_id == verdict.id)))
    assert types == ["notify", "remove_post"]
    events = set(db.session.scalars(select(AuditEvent.event_type)))
    assert {"seat_dealt", "vote_cast", "verdict_reached", "action_queued"} <= events
    audit.seal(db.session)
    assert audit.verify_chain(db.session)[1] is None


def test_a_seat_is_never_dealt_twice_and_the_panel_is_capped(reported_case, jurors):
    dealt = [dealing.deal_next(j) for j in jurors[:4]]
    assert [a is not None for a in dealt] == [True, True, True, False]
    assert db.session.get(Case, reported_case.id).open_seats == 0
    # Asking again returns the live lease instead of a second seat.
    assert dealing.deal_next(jurors[0]).id == dealt[0].id


def test_authors_and_reporters_are_never_dealt_their_case(api, make_user):
    author = make_user("author", network_account_id="author-1")
    reporter = make_user("reporter", network_account_id="reporter-1")
    api.posts(post_payload("p1", author="author-1"))
    api.reports(report_payload("r1", "p1", reporter="reporter-1"))
    assert dealing.deal_next(author) is None
    assert dealing.deal_next(reporter) is None


def test_a_juror_is_not_dealt_a_case_they_voted_on_or_skipped(api, jurors):
    api.posts(post_payload("p1"), post_payload("p2"))
    api.reports(report_payload("r1", "p1"), report_payload("r2", "p2", reason="spam"))
    first = dealing.deal_next(jurors[0])
    voting.skip(first.case_id, jurors[0])
    second = dealing.deal_next(jurors[0])
    assert second.case_id != first.case_id
    voting.cast_vote(second.case_id, jurors[0], "keep")
    assert dealing.deal_next(jurors[0]) is None


def test_dealing_prefers_the_highest_priority(api, jurors):
    api.posts(post_payload("low"), post_payload("high"))
    api.reports(report_payload("r1", "low", reason="spam"),
                report_payload("r2", "high", reason="violence_threat"))
    high = db.session.scalar(select(Case).join(Case.post).where(Case.post.property.mapper.class_.external_id == "high"))
    dealt = {dealing.deal_next(j).case_id for j in jurors[:3]}
    assert dealt == {high.id}


def test_votes_are_blind_until_the_verdict(reported_case, jurors, client, auth):
    deal_and_vote(jurors[0], "remove", "harassment")
    dealing.deal_next(jurors[1])
    auth.login("juror1")
    page = client.get(f"/cases/{reported_case.id}").get_data(as_text=True)
    assert "Your vote" in page and "Verdict" not in page
    assert "harassment</li>" not in page and "remove —" not in page
    voting.cast_vote(reported_case.id, jurors[1], "remove", "harassment")
    deal_and_vote(jurors[2], "remove", "harassment")
    after = client.get(f"/cases/{reported_case.id}").get_data(as_text=True)
    assert "Verdict: Remove" in after and after.count("Remove — Harassment") == 3


def test_a_juror_cannot_see_a_case_not_dealt_to_them(reported_case, jurors, client, auth):
    auth.login("juror0")
    assert client.get(f"/cases/{reported_case.id}").status_code == 404  # as for a missing id


def test_vote_rules(reported_case, jurors):
    with pytest.raises(NotFound):
        voting.cast_vote(reported_case.id, jurors[0], "keep")  # no seat: answered as a missing id
    dealing.deal_next(jurors[0])
    with pytest.raises(DomainError, match="rule"):
        voting.cast_vote(reported_case.id, jurors[0], "remove", None)
    with pytest.raises(DomainError):
        voting.cast_vote(reported_case.id, jurors[0], "ban", None)
    with pytest.raises(DomainError, match="note"):
        voting.cast_vote(reported_case.id, jurors[0], "keep", None, "x" * 2001)
    voting.cast_vote(reported_case.id, jurors[0], "keep")
    with pytest.raises(Conflict, match="already voted"):
        voting.cast_vote(reported_case.id, jurors[0], "remove", "spam")
    assert db.session.scalar(select(func.count()).select_from(Vote)) == 1


def test_expired_lease_returns_the_seat(reported_case, jurors):
    for juror in jurors[:3]:
        dealing.deal_next(juror)
    assert dealing.deal_next(jurors[3]) is None
    db.session.execute(update(Assignment).where(Assignment.juror_id == jurors[0].id)
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert sweeper.sweep()["expired_leases"] == 1
    assert dealing.deal_next(jurors[3]).case_id == reported_case.id
    # The juror whose lease ran out lost the seat to another juror.
    with pytest.raises(Conflict, match="ran out"):
        voting.cast_vote(reported_case.id, jurors[0], "keep")


def test_a_late_vote_still_counts_when_the_seat_is_free(reported_case, jurors):
    dealing.deal_next(jurors[0])
    db.session.execute(update(Assignment).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    sweeper.sweep()
    voting.cast_vote(reported_case.id, jurors[0], "keep")
    assert db.session.get(Case, reported_case.id).open_seats == 2


def test_split_panel_widens_then_escalates_to_a_lead(reported_case, jurors, make_user):
    publish_policy({"supermajority": 0.75}, reason="stricter", actor="test")
    db.session.commit()
    deal_and_vote(jurors[0], "remove", "harassment")
    deal_and_vote(jurors[1], "remove", "harassment")
    assert deal_and_vote(jurors[2], "keep").outcome == "widen"
    case = db.session.get(Case, reported_case.id)
    assert case.panel_size == 5 and case.open_seats == 2
    deal_and_vote(jurors[3], "remove", "harassment")
    assert deal_and_vote(jurors[4], "keep").outcome == "escalate"
    assert dealing.deal_next(jurors[5]) is None
    assert [c.id for c in verdicts.escalated_cases()] == [reported_case.id]
    juror = jurors[5]
    with pytest.raises(DomainError):
        verdicts.decide_escalation(reported_case.id, juror, "keep", None, "no")
    lead = make_user("lead", role="lead")
    verdict = verdicts.decide_escalation(reported_case.id, lead, "keep", None, "satire, in context")
    assert verdict.method == "lead" and verdict.decided_by_id == lead.id
    assert verdict.tally["remove"] == 3 and verdict.tally["keep"] == 2
    with pytest.raises(Conflict):
        verdicts.decide_escalation(reported_case.id, lead, "remove", "hate", "changed my mind")


def test_escalations_page_and_lead_decision_over_http(reported_case, jurors, make_user, client, auth):
    db.session.execute(update(Case).values(state="escalated"))
    db.session.commit()
    make_user("lead", role="lead")
    auth.login("juror0")
    assert client.get("/lead/escalations").status_code == 403
    assert client.post(f"/lead/cases/{reported_case.id}/decide", data={"outcome": "keep"}).status_code == 403
    auth.logout()
    auth.login("lead")
    page = client.get("/lead/escalations").get_data(as_text=True)
    assert f"/lead/cases/{reported_case.id}/decide" in page
    response = client.post(f"/lead/cases/{reported_case.id}/decide",
                           data={"outcome": "remove", "rule": "harassment", "note": "clear harassment"})
    assert response.status_code == 302
    assert db.session.scalar(select(Verdict.method)) == "lead"


def test_a_lead_on_a_panel_votes_blind_too(reported_case, jurors, make_user, client, auth):
    lead = make_user("lead", role="lead")
    deal_and_vote(jurors[0], "remove", "harassment")
    assert dealing.deal_next(lead).case_id == reported_case.id
    auth.login("lead")
    page = client.get(f"/cases/{reported_case.id}").get_data(as_text=True)
    assert "Your vote" in page and "#" + str(jurors[0].id) not in page and "Remove — Harassment" not in page



def seat(juror, case_id):
    """Give the juror a live seat on a chosen case (dealing is random within the top band)."""
    now = utcnow()
    db.session.add(Assignment(case_id=case_id, juror_id=juror.id, state="active", leased_at=now,
                              expires_at=now + timedelta(minutes=5)))
    db.session.execute(update(Case).where(Case.id == case_id).values(open_seats=Case.open_seats - 1))
    db.session.commit()


def test_a_jurors_home_figures_count_votes_decided_cases_and_agreement(api, jurors):
    from jury.panels.case_view import juror_summary

    for pid in ("a", "b", "c"):
        api.posts(post_payload(pid, f"post {pid}", author=f"author-{pid}"))
        api.reports(report_payload(f"r-{pid}", pid, reporter=f"reporter-{pid}"))
    me, others = jurors[0], jurors[1:3]
    first, second, _third = sorted(deal_and_vote(me, "keep").case_id for _ in range(3))
    # The others remove `first` (I disagreed), keep `second` (I agreed), and leave the third undecided.
    for case_id, decision in ((first, "remove"), (second, "keep")):
        for juror in others:
            seat(juror, case_id)
            voting.cast_vote(case_id, juror, decision, "spam" if decision == "remove" else None)
    assert juror_summary(me) == {"votes": 3, "decided": 2, "agreed": 1, "live_gold_cases": 0}
    assert juror_summary(others[0]) == {"votes": 2, "decided": 2, "agreed": 2, "live_gold_cases": 0}


def test_the_screens_vote_and_next_deal_read_the_juror_and_the_seat_only_once(api, jurors):
    from sqlalchemy import event

    for i in range(3):
        api.posts(post_payload(f"p{i}", "You are all idiots", author="author-1"))
        api.reports(report_payload(f"r{i}", f"p{i}", reporter="reporter-1", reason="harassment"))
    juror = jurors[0]
    first_case = dealing.deal_next(juror).case_id
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()).lower())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        # What the keyboard screen's one request does: vote, deal the next case, read it back.
        voting.cast_vote(first_case, juror, "keep")
        second = dealing.deal_next(juror)
        assert second.case_id != first_case and second.juror_id == juror.id
        assert second.state == "active" and second.expires_at > utcnow()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    # The commits in between expire every object: without keeping what the transactions read
    # and wrote, the juror's row and the new seat were each loaded again.
    assert [s for s in statements if s.startswith("select") and "from users" in s] == []
    assert [s for s in statements
            if s.startswith("select") and "from assignments" in s and "assignments.id =" in s] == []
    assert juror.state == "active" and db.session.get(Assignment, second.id).case_id == second.case_id


def test_the_case_page_shows_the_latest_scores_in_two_round_trips(api, jurors, reported_case):
    from sqlalchemy import event

    from jury.panels.case_view import case_view
    from models import Score

    juror, case_id = jurors[0], reported_case.id
    assert dealing.deal_next(juror).case_id == case_id
    older = db.session.scalar(select(Score).where(Score.post_id == reported_case.post_id))
    db.session.add(Score(post_id=reported_case.post_id, model_name=older.model_name, model_version="newer",
                         labels={"toxicity": 0.125}, max_score=0.125, scored_at=older.scored_at + timedelta(hours=1)))
    db.session.commit()
    db.session.refresh(juror)  # as a request finds its juror, loaded
    statements: list[str] = []
    record = lambda conn, cursor, statement, *args: statements.append(" ".join(statement.split())[-300:])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        view = case_view(case_id, juror)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert view.model == f"{older.model_name}:newer" and view.scores == {"toxicity": 0.125}
    assert [comment for _title, comment in view.reports] == [None] and len(view.reports) == 1
    # The case, its post, the seat, the verdict and the scores in one statement; the reports in another.
    assert len(statements) == 2, "\n".join(statements)


def test_a_vote_on_a_live_seat_marks_it_without_reading_it_first(api, jurors, reported_case):
    from sqlalchemy import event

    juror, case_id = jurors[0], reported_case.id
    seat_id = dealing.deal_next(juror).id
    statements: list[str] = []
    record = lambda conn, cursor, statement, *args: statements.append(" ".join(statement.split()).lower())  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        voting.cast_vote(case_id, juror, "keep")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert not [s for s in statements if s.startswith("select") and "from assignments" in s]
    seat = db.session.get(Assignment, seat_id)
    assert seat.state == "voted" and seat.released_at is not None
    with pytest.raises(Conflict, match="already voted"):
        voting.cast_vote(case_id, juror, "remove", "harassment")


def test_on_postgresql_a_vote_is_stored_and_the_cases_votes_read_in_one_statement(api, jurors, reported_case,
                                                                                backend):
    from sqlalchemy import event

    from models import Verdict

    case_id = reported_case.id
    for juror in jurors[:3]:
        assert dealing.deal_next(juror).case_id == case_id
    voting.cast_vote(case_id, jurors[0], "remove", "harassment")
    statements: list[str] = []
    record = lambda conn, cursor, statement, *args: statements.append(" ".join(statement.split()).lower())  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert voting.cast_vote(case_id, jurors[1], "remove", "harassment").outcome == "pending"
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    reads = [s for s in statements if s.startswith("select votes.juror_id")]
    inserts = [s for s in statements if "insert into votes" in s]
    assert len(inserts) == 1
    if backend == "postgresql":
        assert reads == [] and inserts[0].startswith("with new_vote as")
    else:
        assert len(reads) == 1
    # The third vote decides: its tally saw the two earlier votes and itself.
    assert voting.cast_vote(case_id, jurors[2], "remove", "harassment").outcome == "remove"
    verdict = db.session.scalar(select(Verdict).where(Verdict.case_id == case_id))
    assert verdict.outcome == "remove" and verdict.tally["remove"] == 3
