"""Juror management: states with reasons, password resets, single-use invitation links, metrics columns."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from jury.jurors import manage as jurors
from models import AuditEvent, JurorInvite, User, db, utcnow
from tests.conftest import PASSWORD, post_payload, report_payload


@pytest.fixture
def lead(app, client, make_user):
    """The client, logged in as a lead."""
    make_user("lead", role="lead")
    client.post("/login", data={"username": "lead", "password": PASSWORD})
    return client


def state_of(username: str) -> str:
    db.session.expire_all()
    return db.session.scalar(select(User.state).where(User.username == username))


def test_jurors_page_lists_state_volume_and_metric_columns(app, lead, make_user):
    """The list shows each juror (not leads) with the columns juror_metrics feeds."""
    make_user("ann")
    html = lead.get("/lead/jurors").get_data(as_text=True)
    assert "ann" in html and "Gold accuracy" in html and "Exposure by category" in html
    assert 'id="juror-' in html and ">lead<" not in html
    ann = db.session.scalar(select(User.id).where(User.username == "ann"))
    assert set(jurors.juror_metrics([ann])[ann]) >= {"votes", "agreement", "gold_accuracy", "exposure"}


def test_state_changes_and_their_rules(app, lead, make_user, client):
    """Pause, resume, suspend (needs a reason), reinstate; impossible moves are refused; each is audited."""
    user = make_user("ann")
    assert lead.post(f"/lead/jurors/{user.id}/pause").status_code == 302
    assert state_of("ann") == "paused"
    assert lead.post(f"/lead/jurors/{user.id}/approve").status_code == 409  # not on probation
    assert lead.post(f"/lead/jurors/{user.id}/resume").status_code == 302
    assert lead.post(f"/lead/jurors/{user.id}/suspend", data={"reason": ""}).status_code == 400
    assert state_of("ann") == "active"
    assert lead.post(f"/lead/jurors/{user.id}/suspend", data={"reason": "leaked a case"}).status_code == 302
    assert state_of("ann") == "suspended"
    assert lead.post(f"/lead/jurors/{user.id}/bogus").status_code == 404
    leader = db.session.scalar(select(User.id).where(User.username == "lead"))
    assert lead.post(f"/lead/jurors/{leader}/pause").status_code == 403  # leads are not managed here
    kinds = list(db.session.scalars(select(AuditEvent.event_type).where(AuditEvent.subject_type == "user",
                                                                       AuditEvent.event_type.like("juror_%"))))
    assert kinds == ["juror_pause", "juror_resume", "juror_suspend"]
    suspended = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "juror_suspend"))
    assert suspended.payload["reason"] == "leaked a case"


def test_a_paused_juror_is_dealt_nothing_and_loses_their_seat(app, lead, make_user, api):
    """Pausing gives the juror's seat back to the case; a paused juror asking for a case gets none."""
    from models import Assignment
    from triage.dealing import deal_next

    user = make_user("ann")
    api.reports(report_payload("r1", "p1", post=post_payload("p1", "you are an idiot")))
    seat = deal_next(user)
    assert seat is not None
    lead.post(f"/lead/jurors/{user.id}/pause")
    db.session.expire_all()
    assert db.session.get(Assignment, seat.id).state == "expired"
    assert deal_next(db.session.get(User, user.id)) is None


def test_reset_password_shows_a_working_temporary_password_once(app, lead, make_user):
    """The temporary password is shown with no-store and logs the juror in; the old one stops working."""
    user = make_user("ann")
    response = lead.post(f"/lead/jurors/{user.id}/reset-password")
    assert response.headers["Cache-Control"] == "no-store"
    temporary = re.search(r'id="temporary-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    other = app.test_client()
    assert other.post("/login", data={"username": "ann", "password": PASSWORD}).status_code == 401
    assert other.post("/login", data={"username": "ann", "password": temporary}).status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "juror_password_reset"))
    assert temporary not in str(event.payload)


def invite_link(lead_client) -> str:
    response = lead_client.post("/lead/jurors/invites", data={"note": "for Bea", "days": "7"})
    assert response.status_code == 200
    return re.search(r'id="invite-link" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_invitation_creates_a_juror_on_probation_once(app, lead):
    """The link opens a registration page; joining creates a probation juror; the link then stops working."""
    path = invite_link(lead).split("localhost", 1)[-1]
    visitor = app.test_client()
    assert visitor.get(path).status_code == 200
    form = {"username": "bea", "password": "a long enough pw", "confirm": "a long enough pw"}
    assert visitor.post(path, data=form).status_code == 302
    assert state_of("bea") == "probation"
    assert visitor.post(path, data={**form, "username": "bea2"}).status_code == 409
    assert state_of("bea2") is None
    # The lead approves the new juror.
    bea = db.session.scalar(select(User.id).where(User.username == "bea"))
    assert lead.post(f"/lead/jurors/{bea}/approve").status_code == 302
    assert state_of("bea") == "active"


def test_forged_expired_and_bad_registrations_are_refused(app, lead):
    """A tampered token is 404, an expired one 400; bad usernames or short passwords create nobody."""
    path = invite_link(lead).split("localhost", 1)[-1]
    visitor = app.test_client()
    assert visitor.get(path[:-3] + "abc").status_code == 404
    assert visitor.get("/join/" + "x" * 5000).status_code == 404
    for form in ({"username": "<b>x</b>", "password": "a long enough pw", "confirm": "a long enough pw"},
                 {"username": "bea", "password": "short", "confirm": "short"},
                 {"username": "bea", "password": "a long enough pw", "confirm": "different pw!!"}):
        assert visitor.post(path, data=form).status_code in (200, 400)
    assert db.session.scalar(select(User.id).where(User.username.in_(("bea", "<b>x</b>")))) is None
    db.session.execute(update(JurorInvite).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert visitor.get(path).status_code == 400


def test_invite_lifetime_is_bounded(app, lead):
    """More than 30 days is refused and creates nothing."""
    lead.post("/lead/jurors/invites", data={"days": "365"})
    assert db.session.scalar(select(JurorInvite.id)) is None


@pytest.mark.postgres
def test_an_invitation_raced_by_many_creates_one_juror(pg_app):
    """Eight people submitting one link at once on PostgreSQL: exactly one account, the rest refused."""
    import threading

    from models.errors import DomainError

    app = pg_app
    secret = app.config["SECRET_KEY"]
    from jury.jurors import users

    lead_id = users.create_user("lead", PASSWORD, "lead").id
    _, token = jurors.create_invite(secret, note="", days=1, actor_id=lead_id)
    db.session.remove()
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def join(n: int) -> None:
        with app.app_context():
            start.wait(30)
            try:
                jurors.redeem_invite(secret, token, f"racer{n}", "a long enough pw")
                result = "ok"
            except DomainError as error:
                result = type(error).__name__
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=join, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["Conflict"] * 7 + ["ok"]
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username.like("racer%"))) == 1


def test_metrics_show_gold_accuracy_and_exposure_by_category(app, api, make_user):
    """A juror's gold answers and the categories they were dealt in the last 24 hours reach the list."""
    from jury.panels import voting
    from models import Case
    from triage import dealing, gold

    api.posts(post_payload("p1", "I will hurt you tonight"))
    api.reports(report_payload("r1", "p1", reason="violence_threat"))
    panel = [make_user(f"juror{i}", network_account_id=f"net-{i}") for i in range(3)]
    for juror in panel:
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "remove", "violence_threat")
    source = db.session.scalar(select(Case).where(Case.state != "gold"))
    gold_case = gold.promote(source.id, make_user("lead2", role="lead"))
    trainee = make_user("trainee")
    db.session.get(User, trainee.id).state = "paused"  # in training: dealt gold cases only
    db.session.commit()
    assert dealing.deal_next(trainee).case_id == gold_case.id
    voting.cast_vote(gold_case.id, trainee, "keep", None)  # the expected answer is remove
    metrics = jurors.juror_metrics([panel[0].id, trainee.id])
    assert metrics[trainee.id]["gold_accuracy"] == 0.0
    assert metrics[panel[0].id]["gold_accuracy"] is None  # never dealt a gold case
    assert metrics[panel[0].id]["exposure"] == {"violence_threat": 1}
    assert metrics[trainee.id]["exposure"] == {"violence_threat": 1}


def test_form_messages_follow_the_visitor_language_each_request(app, lead):
    """WTForms' own messages come in the visitor's language (the catalog is cached per language, not per process)."""
    path = invite_link(lead).split("localhost", 1)[-1]
    visitor = app.test_client()
    empty = {"username": "", "password": "", "confirm": ""}
    french = visitor.post(path, data=empty, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    english = visitor.post(path, data=empty, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Ce champ est requis." in french and "This field is required." not in french
    assert "This field is required." in english and "Ce champ est requis." not in english
