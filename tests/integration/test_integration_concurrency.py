"""Many jurors at once on PostgreSQL: no seat dealt twice, no vote lost, one verdict per case."""
from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import func, select, text

import audit
from jury.panels import voting
from jury.tasks import sweeper
from models import Assignment, AuditEvent, Case, User, Verdict, Vote, db, utcnow
from models.errors import Conflict
from tests.conftest import aged_cases, case_priorities, post_payload, report_payload
from triage import cases, dealing
from triage.policy import current_policy

# Under the default pool (5 + 10 overflow connections), as a gunicorn process would have.
JURORS = 12
CASES = 30

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_app):
    """Only PostgreSQL has row locks worth racing against."""
    return pg_app


def _open_cases_for(juror: User) -> bool:
    """Whether some undecided case still lacks this juror (the simulated juror keeps coming back)."""
    sat = select(Assignment.case_id).where(Assignment.juror_id == juror.id)
    found = db.session.scalar(select(func.count()).select_from(Case).where(
        Case.state.in_(("queued", "in_review")), Case.id.not_in(sat)))
    db.session.rollback()
    return bool(found)


def test_concurrent_jurors_never_share_a_seat_and_every_case_gets_one_verdict(app, api, make_user):
    posts = [post_payload(f"p{i}", f"post number {i}") for i in range(CASES)]
    api.posts(*posts)
    api.reports(*[report_payload(f"r{i}", f"p{i}", reason=random.choice(["spam", "hate", "harassment"]))
                  for i in range(CASES)])
    assert db.session.scalar(select(func.count()).select_from(Case)) == CASES
    juror_ids = [make_user(f"juror{i}").id for i in range(JURORS)]
    errors: list[BaseException] = []
    cast: list[tuple[int, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(JURORS)

    def work(juror_id: int) -> None:
        rng = random.Random(juror_id)
        with app.app_context():
            try:
                juror = db.session.get(User, juror_id)
                db.session.commit()
                start.wait(30)
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    assignment = dealing.deal_next(juror)
                    if assignment is None:
                        # Nothing for now; a panel that widens later may need this juror.
                        if not _open_cases_for(juror):
                            return
                        time.sleep(0.02)
                        continue
                    case_id = assignment.case_id
                    if rng.random() < 0.1:
                        voting.skip(case_id, juror)
                        continue
                    decision = rng.choice(["remove", "keep"])
                    voting.cast_vote(case_id, juror, decision, "spam" if decision == "remove" else None)
                    with lock:
                        cast.append((case_id, juror_id))
            except Conflict as error:  # a domain refusal here would be a dealing bug
                errors.append(error)
            except BaseException as error:  # noqa: BLE001 - surface anything from the thread
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(jid,), daemon=True) for jid in juror_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a juror thread hung"
    assert not errors, errors[:3]

    db.session.expire_all()
    policy = current_policy()
    # Every vote a juror was told was recorded is in the database, once.
    votes = db.session.execute(select(Vote.case_id, Vote.juror_id)).all()
    assert sorted(map(tuple, votes)) == sorted(cast)
    # No case holds more votes than its panel, and each has exactly one verdict or an escalation.
    per_case = dict(db.session.execute(select(Vote.case_id, func.count()).group_by(Vote.case_id)).all())
    for case in db.session.scalars(select(Case)):
        assert per_case.get(case.id, 0) <= case.panel_size <= policy.widened_panel_size
        if case.state in ("queued", "in_review"):
            # Only left open when every juror has already sat on it (voted or skipped).
            seated = db.session.scalar(select(func.count()).select_from(Assignment)
                                       .where(Assignment.case_id == case.id))
            assert seated == JURORS, (case.id, case.state, case.open_seats, seated)
    verdicts = db.session.execute(select(Verdict.case_id, func.count()).group_by(Verdict.case_id)).all()
    assert all(n == 1 for _, n in verdicts)
    decided = db.session.scalar(select(func.count()).select_from(Case)
                                .where(Case.state.in_(("decided", "actioned"))))
    assert len(verdicts) == decided
    # No seat was dealt twice: one assignment per juror per case, and none left live.
    dupes = db.session.execute(text(
        "SELECT case_id, juror_id FROM assignments GROUP BY case_id, juror_id HAVING count(*) > 1")).all()
    assert dupes == []
    assert db.session.scalar(select(func.count()).select_from(Assignment).where(Assignment.state == "active")) == 0
    # Every event written by the concurrent transactions joins one unbroken chain when sealed.
    audit.seal(db.session)
    checked, broken = audit.verify_chain(db.session)
    assert broken is None and checked > CASES * 3
    assert checked == db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_a_verdicts_actions_sent_at_once_still_close_the_case(app, api, make_user):
    """Two workers finishing a verdict's two actions at the same moment: the case still becomes actioned.

    The network holds both deliveries until both have arrived, so both transactions decide whether
    the case is done while the other is still open: each must wait for the other's commit.
    """
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from models import Action
    from triage import outbox

    both_arrived = threading.Barrier(2, timeout=10)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            both_arrived.wait()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Until the verdict is in, deliveries go to a closed port and wait as failed actions.
    app.config.update(NETWORK_ADAPTER="webhook", NETWORK_URL="http://127.0.0.1:9")
    try:
        api.posts(post_payload("p1", "buy cheap followers now"))
        api.reports(report_payload("r1", "p1", reason="spam"))
        for juror in [make_user(f"juror{i}") for i in range(3)]:
            voting.cast_vote(dealing.deal_next(juror).case_id, juror, "remove", "spam")
        action_ids = db.session.scalars(select(Action.id).where(Action.verdict_id.is_not(None))).all()
        assert len(action_ids) == 2
        db.session.execute(Action.__table__.update().values(state="failed", next_attempt_at=utcnow()))
        db.session.commit()
        app.config["NETWORK_URL"] = f"http://127.0.0.1:{server.server_port}"
        results, errors = [], []

        def deliver(action_id: int) -> None:
            try:
                with app.app_context():
                    results.append(outbox.deliver(action_id))
                    db.session.remove()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=deliver, args=(action_id,)) for action_id in action_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors and results == ["sent", "sent"]
        db.session.expire_all()
        assert db.session.scalar(select(Case.state)) == "actioned"
    finally:
        server.shutdown()


def test_concurrent_writers_and_sealers_build_one_chain_with_every_event_once(app):
    """Writers never wait for the chain; three sealers racing each other still seal each event once."""
    writers, events_each = 8, 40
    done = threading.Event()
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            with app.app_context():
                for n in range(events_each):
                    audit.record(db.session, "test_event", "thing", f"{worker}-{n}", {"worker": worker, "n": n})
                    db.session.commit()
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    def seal() -> None:
        try:
            with app.app_context():
                while not done.is_set():
                    audit.seal(db.session, batch=7)  # small batches: more turns to interleave
        except BaseException as error:
            errors.append(error)

    sealers = [threading.Thread(target=seal) for _ in range(3)]
    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(writers)]
    for thread in sealers + threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    for thread in sealers:
        thread.join()
    assert errors == []
    audit.seal(db.session)
    total = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert total >= writers * events_each
    checked, broken = audit.verify_chain(db.session)
    assert broken is None and checked == total and audit.unsealed_count(db.session) == 0
    # One place per event, no gaps: no event was chained twice or skipped.
    seqs = list(db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
    assert seqs == list(range(1, total + 1))
    written = set(db.session.scalars(select(AuditEvent.subject_id).where(AuditEvent.event_type == "test_event")))
    assert written == {f"{worker}-{n}" for worker in range(writers) for n in range(events_each)}


def test_priority_refresh_skips_a_case_being_voted_on_instead_of_waiting(api):
    ids = aged_cases(api, 3)
    fresh = case_priorities()
    # Another connection holds one case's row, as a vote in progress does.
    with db.engine.connect() as voter:
        voter.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": ids[1]})
        started = time.monotonic()
        assert cases.refresh_priorities(current_policy(), batch=2) == 2
        assert time.monotonic() - started < 5  # it did not wait for the vote
        voter.rollback()
    aged = case_priorities()
    assert aged[ids[0]] > fresh[ids[0]] + 10 and aged[ids[2]] > fresh[ids[2]] + 10
    assert aged[ids[1]] == fresh[ids[1]]
    # The next sweep gets it, and rewrites none of the others: their priorities are current.
    assert sweeper.sweep()["reprioritised_cases"] == 1
    assert case_priorities()[ids[1]] > fresh[ids[1]] + 10


def _queue_cases(api, n: int) -> list[int]:
    """n reported cases of equal priority (all inside one deal window), their ids in id order."""
    api.posts(*[post_payload(f"w{i}", f"window post {i}") for i in range(n)])
    api.reports(*[report_payload(f"wr{i}", f"w{i}", reason="spam") for i in range(n)])
    ids = list(db.session.scalars(select(Case.id).order_by(Case.id)))
    db.session.commit()
    return ids


def test_a_deal_locks_only_the_case_it_takes(app, api, make_user, monkeypatch):
    """While a deal writes its lease, every other case of its window stays free for other deals and votes.

    Locking the whole window is what let two deals, reading it in different orders, deadlock.
    """
    ids = _queue_cases(api, 6)
    juror = make_user("juror0")
    seen: dict[str, object] = {}
    real_lease = dealing._lease

    def lease_and_probe(case_id, who, policy, *flags):
        others = [i for i in ids if i != case_id]
        with db.engine.connect() as other:
            try:
                locked = other.scalars(text("SELECT id FROM cases WHERE id = ANY(:ids) FOR UPDATE NOWAIT"),
                                       {"ids": others}).all()
                seen["free"] = sorted(locked)
            except Exception as error:  # noqa: BLE001 - the failure is the finding
                seen["error"] = error
            other.rollback()
        seen["taken"] = case_id
        return real_lease(case_id, who, policy, *flags)

    monkeypatch.setattr(dealing, "_lease", lease_and_probe)
    assignment = dealing.deal_next(juror)
    assert assignment is not None and assignment.case_id == seen["taken"]
    assert "error" not in seen, seen.get("error")
    assert seen["free"] == sorted(i for i in ids if i != seen["taken"])


def test_a_deal_skips_a_case_another_transaction_holds_and_waits_only_when_all_are_held(app, api, make_user):
    """A held row is passed over at once; with every candidate held the deal waits, then takes one."""
    ids = _queue_cases(api, 2)
    jurors = [make_user(f"juror{i}") for i in range(2)]
    with db.engine.connect() as voter:
        voter.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": ids[0]})
        for _ in range(3):  # whichever order the window is shuffled in
            started = time.monotonic()
            dealt = dealing.deal_next(jurors[0])
            assert dealt.case_id == ids[1] and time.monotonic() - started < 2
            voting.skip(dealt.case_id, jurors[0])
            db.session.execute(text("DELETE FROM assignments"))
            db.session.commit()
        # Both candidates held: the deal waits for the vote in flight instead of saying "nothing to do".
        voter.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": ids[1]})
        released = threading.Timer(0.5, voter.rollback)
        released.start()
        started = time.monotonic()
        dealt = dealing.deal_next(jurors[1])
        released.join()
    assert dealt is not None and dealt.case_id in ids and time.monotonic() - started >= 0.4


def test_a_deal_chosen_as_a_deadlock_victim_is_tried_again(app, api, make_user, monkeypatch):
    """PostgreSQL aborting a deal to break a deadlock costs the juror a retry, not an error page."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    ids = _queue_cases(api, 1)
    juror = make_user("juror0")
    real_take = dealing._take_a_seat
    failures = [OperationalError("UPDATE cases ...", {}, psycopg.errors.DeadlockDetected("deadlock detected"))]

    def take_or_fail(candidates, wait):
        if failures:
            raise failures.pop()
        return real_take(candidates, wait)

    monkeypatch.setattr(dealing, "_take_a_seat", take_or_fail)
    assert dealing.deal_next(juror).case_id == ids[0]
    # Any other database error still reaches the caller.
    other = OperationalError("UPDATE cases ...", {}, psycopg.errors.QueryCanceled("canceling statement"))
    monkeypatch.setattr(dealing, "_take_a_seat", lambda candidates, wait: (_ for _ in ()).throw(other))
    with pytest.raises(OperationalError):
        dealing.deal_next(make_user("juror1"))


def test_two_next_case_requests_at_once_from_one_juror_get_the_same_seat(app, api, make_user, monkeypatch):
    """Two tabs asking at once: each takes a seat on its own case, one lease wins, and the other
    request gives its seat back and answers with the winner's (uq_assignments_one_live_seat)."""
    ids = _queue_cases(api, 4)
    juror = make_user("juror0")
    juror.state = "active"  # so neither request waives probation (a write of its own to the juror's row)
    db.session.commit()
    juror_id = juror.id
    real_lease, real_window = dealing._lease, dealing._eligible_ids
    both_took_a_seat = threading.Barrier(2)
    one_window_at_a_time = threading.Lock()

    def lease_together(case_id, who, policy, *flags):
        both_took_a_seat.wait(30)  # both requests hold a taken seat, neither has leased it yet
        return real_lease(case_id, who, policy, *flags)

    def window_alone(*args, **kwargs):
        # The window read locks the rows it returns until its savepoint is rolled back, just after. A
        # request reading while the other's read held all four would find every row held, wait for one
        # of them (as a deal that holds nothing may), and could wait for the very case the other took:
        # which then waits at the barrier for it. Reads one after the other keep the race this test is
        # about: two taken seats, two leases at once.
        with one_window_at_a_time:
            return real_window(*args, **kwargs)

    monkeypatch.setattr(dealing, "_lease", lease_together)
    monkeypatch.setattr(dealing, "_eligible_ids", window_alone)
    dealt: list[int] = []
    errors: list[BaseException] = []

    def ask() -> None:
        with app.app_context():
            try:
                juror = db.session.get(User, juror_id)
                dealt.append(dealing.deal_next(juror).case_id)
            except BaseException as error:  # noqa: BLE001 - surface anything from the thread
                errors.append(error)
            finally:
                db.session.remove()

    tabs = [threading.Thread(target=ask) for _ in range(2)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join(60)
    assert not errors, errors
    assert len(dealt) == 2 and dealt[0] == dealt[1]
    db.session.expire_all()
    live = db.session.scalars(select(Assignment.case_id).where(Assignment.juror_id == juror_id,
                                                               Assignment.state == "active")).all()
    assert live == [dealt[0]]
    panel = current_policy().panel_size
    seats = dict(db.session.execute(select(Case.id, Case.open_seats).where(Case.id.in_(ids))).all())
    assert seats == {i: panel - 1 if i == dealt[0] else panel for i in ids}
    assert sum(1 for payload in db.session.scalars(select(AuditEvent.payload).where(
        AuditEvent.event_type == "seat_dealt")) if payload["juror"] == juror_id) == 1
