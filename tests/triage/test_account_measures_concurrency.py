"""Two removals of one author's posts followed up at the same moment, on PostgreSQL's row locks."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from jury.panels import verdicts, voting
from models import Account, Action, Strike, Verdict, db
from tests.conftest import post_payload, report_payload
from triage import dealing

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_app):
    """Only PostgreSQL has row locks worth racing against."""
    return pg_app


def test_two_removals_at_once_give_two_strikes_and_the_measures_they_call_for(app, api, make_user, redis_url):
    app.config["REDIS_URL"] = redis_url  # the follow-ups wait on Redis; the threads below run them
    jurors = [make_user(f"juror{i}") for i in range(6)]
    for pid, panel in (("p1", jurors[:3]), ("p2", jurors[3:])):
        api.posts(post_payload(pid, f"hateful post {pid}", author="author-1"))
        api.reports(report_payload(f"r-{pid}", pid, reason="hate"))
        for juror in panel:
            voting.cast_vote(dealing.deal_next(juror).case_id, juror, "remove", "hate")
    verdict_ids = list(db.session.scalars(select(Verdict.id).order_by(Verdict.id)))
    db.session.commit()
    assert len(verdict_ids) == 2 and db.session.scalar(select(func.count()).select_from(Strike)) == 0
    start = threading.Barrier(3, timeout=30)
    errors: list[BaseException] = []

    def follow(verdict_id: int) -> None:
        with app.app_context():
            try:
                start.wait()
                verdicts.follow_up(verdict_id)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    # Both verdicts, and the first one's job a second time.
    threads = [threading.Thread(target=follow, args=(v,)) for v in (*verdict_ids, verdict_ids[0])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    db.session.expire_all()
    assert sorted(db.session.scalars(select(Strike.verdict_id))) == verdict_ids
    # Hate weighs 2: the first strike warns, the second (4, past 3) suspends for 7 days; had the
    # two not seen each other's strike, both would have warned.
    measures = db.session.execute(select(Action.type, Action.strike_count).where(
        Action.type.in_(("warn_account", "suspend_account"))).order_by(Action.id)).all()
    assert [tuple(m) for m in measures] == [("warn_account", 1), ("suspend_account", 2)]
    assert db.session.scalar(select(Account.state).where(Account.external_id == "author-1")) == "suspended"
