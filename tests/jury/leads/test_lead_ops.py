"""Operations: /healthz, /metrics, the RQ dashboard under the lead console, and the queue-health figures."""
from __future__ import annotations

from datetime import timedelta

import pytest

from jury.leads import queue_health
from models import Action, Case, Post, Verdict, Vote, db, utcnow
from models.base import simulated_clock
from tests.conftest import PASSWORD, make_app, post_payload, report_payload
from triage.policy import current_policy, publish_policy


def test_healthz_without_redis(client):
    """The database answers and jobs run inline: 200."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "not configured"}


def test_healthz_says_503_when_redis_is_down(tmp_path, request):
    """A Redis nobody listens on makes the check fail with 503 and says which part failed."""
    app = make_app("sqlite", tmp_path, request, REDIS_URL="redis://127.0.0.1:9/0")
    with app.app_context():
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable", "database": "ok", "redis": "error: ConnectionError"}
        db.session.remove()


def test_metrics_expose_cases_actions_and_latency(app, client, api):
    """Case states, action failures and request latency histograms are in the Prometheus text."""
    api.reports(report_payload("r1", "p1", post=post_payload("p1", "you idiot")))
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'jury_cases{state="queued"} 1.0' in text
    assert 'jury_actions{state="dead"} 0.0' in text and "jury_action_failures 0.0" in text
    assert 'jury_request_duration_seconds_bucket{endpoint="ops.healthz"' in text
    assert "jury_queue_depth" in text


def test_metrics_token(tmp_path, request):
    """With METRICS_TOKEN set, a scrape needs the bearer token."""
    app = make_app("sqlite", tmp_path, request, METRICS_TOKEN="s3cret")
    with app.app_context():
        client = app.test_client()
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        db.session.remove()


@pytest.fixture
def redis_app(tmp_path, request, redis_url):
    """An app whose jobs go to the test Redis, so the RQ dashboard is mounted."""
    app = make_app("sqlite", tmp_path, request, REDIS_URL=redis_url)
    with app.app_context():
        from jury.jurors import users

        users.create_user("juror", PASSWORD, "juror")
        users.create_user("lead", PASSWORD, "lead")
        yield app
        db.session.remove()


def test_rq_dashboard_is_lead_only_and_works_with_our_rq(redis_app, redis_url):
    """Anonymous → login, juror → 403, lead → the dashboard's pages and JSON; health and queue depth see Redis."""
    client = redis_app.test_client()
    response = client.get("/lead/rq/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    client.post("/login", data={"username": "juror", "password": PASSWORD})
    assert client.get("/lead/rq/").status_code == 403
    assert client.get("/lead/rq/0/data/queues.json").status_code == 403
    client.post("/logout")
    client.post("/login", data={"username": "lead", "password": PASSWORD})
    assert client.get("/lead/rq").status_code == 302  # the console's link leads to the dashboard
    page = client.get("/lead/rq/")
    assert page.status_code == 200 and "'unsafe-inline'" in page.headers["Content-Security-Policy"]
    from redis import Redis
    from rq import Queue

    Queue("scoring", connection=Redis.from_url(redis_url)).enqueue("builtins.print", "x")
    for path in ("/lead/rq/0/view/workers", "/lead/rq/0/view/jobs", "/lead/rq/0/data/workers.json",
                 "/lead/rq/0/data/jobs/scoring/queued/8/asc/1.json"):
        assert client.get(path).status_code == 200, path
    queues = client.get("/lead/rq/0/data/queues.json").get_json()
    assert {"name": "scoring", "count": 1} in [{"name": q["name"], "count": q["count"]} for q in queues["queues"]]
    # Changing requests need our own origin.
    assert client.post("/lead/rq/requeue/scoring").status_code == 403
    assert client.post("/lead/rq/requeue/scoring", headers={"Origin": "http://localhost"}).status_code == 200
    assert client.get("/healthz").get_json()["redis"] == "ok"
    assert 'jury_queue_depth{queue="scoring"} 1.0' in client.get("/metrics").get_data(as_text=True)
    # The rest of the site keeps its strict policy.
    assert "'unsafe-inline'" not in client.get("/lead/").headers["Content-Security-Policy"]


def test_percentile_is_nearest_rank():
    """Nearest-rank percentiles of a known list."""
    values = list(range(1, 101))
    assert queue_health.percentile(values, 50) == 50
    assert queue_health.percentile(values, 90) == 90
    assert queue_health.percentile(values, 99) == 99
    assert queue_health.percentile([7.0], 99) == 7.0
    assert queue_health.percentile([], 50) is None


def test_queue_health_figures(app, client, make_user):
    """Backlog by severity and age, verdict and action times, breaches, 24 h share, juror activity."""
    now = utcnow()
    juror = make_user("ann")
    make_user("lead", role="lead")

    def case(pid: str, severity: int, opened_hours_ago: float, decided_after_hours: float | None,
             sla_hours: float = 24) -> Case:
        post = Post(external_id=pid, author_id="a", text=pid, content_hash="h")
        db.session.add(post)
        db.session.flush()
        opened = now - timedelta(hours=opened_hours_ago)
        row = Case(post_id=post.id, origin="reported", severity=severity, panel_size=3, open_seats=3,
                   policy_version=1, opened_at=opened, sla_deadline=opened + timedelta(hours=sla_hours),
                   state="queued" if decided_after_hours is None else "decided")
        db.session.add(row)
        db.session.flush()
        if decided_after_hours is not None:
            verdict = Verdict(case_id=row.id, outcome="remove", tally={}, method="quorum", policy_version=1,
                              statement="", decided_at=opened + timedelta(hours=decided_after_hours))
            db.session.add(verdict)
            row.decided_at = verdict.decided_at
            db.session.flush()
            db.session.add(Action(case_id=row.id, verdict_id=verdict.id, type="remove_post", idempotency_key=pid,
                                  state="sent", sent_at=verdict.decided_at + timedelta(hours=1)))
        return row

    case("open-a", 3, 0.5, None, sla_hours=1)
    case("open-b", 3, 2, None, sla_hours=1)  # past its SLA
    case("open-c", 0, 100, None, sla_hours=72)  # past its SLA, over 3 days old
    case("d1", 1, 10, 2)
    case("d2", 1, 9, 4)
    case("d3", 1, 8, 6, sla_hours=4)  # decided after its deadline
    db.session.add(Vote(case_id=case("d4", 0, 50, 30).id, juror_id=juror.id, decision="remove",
                        cast_at=now - timedelta(minutes=10)))
    case("d5", 0, 40, 2)
    db.session.add(Action(case_id=1, type="notify", idempotency_key="dead1", state="dead"))
    db.session.commit()
    health = queue_health.health(14)
    assert health.backlog_total == 3 and health.open_breaching == 2
    assert health.backlog["critical"]["< 1 h"] == 1 and health.backlog["critical"]["1–4 h"] == 1
    assert health.backlog["low"]["> 3 days"] == 1
    times = [t for day in health.days for t in [day.to_verdict] if t.count]
    assert sum(t.count for t in times) == 5
    # Of the cases whose 24 hours are known (decided: d1-d5; open over 24 h: open-c), d1, d2, d3 and d5
    # were decided within 24 h; open-a and open-b can still make it and are not counted yet.
    assert health.within_24h == pytest.approx(4 / 6)
    assert sum(day.sla_breaches for day in health.days) == 2  # d3, and d4 (30 h against 24)
    assert health.actions["dead"] == 1
    assert health.votes_last_hour == 1 and health.active_jurors_1h == 1
    client.post("/login", data={"username": "lead", "password": PASSWORD})
    page = client.get("/lead/health").get_data(as_text=True)
    assert 'id="backlog-total">3<' in page and "lead-health.js" in page and "<script>" not in page
    fragment = client.get("/lead/health/fragment").get_data(as_text=True)
    assert 'id="open-breaching">2<' in fragment and "Retry" in fragment


def _forecast_case(pid: str, now, *, priority: float, due_in_hours: float, opened_minutes_ago: float = 120,
                   decided_minutes_ago: float | None = None) -> Case:
    post = Post(external_id=pid, author_id="a", text=pid, content_hash="h")
    db.session.add(post)
    db.session.flush()
    opened = now - timedelta(minutes=opened_minutes_ago)
    row = Case(post_id=post.id, origin="reported", severity=1, panel_size=3, open_seats=3, policy_version=1,
               opened_at=opened, sla_deadline=now + timedelta(hours=due_in_hours), priority=priority,
               state="queued" if decided_minutes_ago is None else "decided")
    db.session.add(row)
    db.session.flush()
    if decided_minutes_ago is not None:
        row.decided_at = now - timedelta(minutes=decided_minutes_ago)
        db.session.add(Verdict(case_id=row.id, outcome="keep", tally={}, method="quorum", policy_version=1,
                               statement="", decided_at=row.decided_at))
    return row


def test_the_forecast_says_when_the_queue_clears_and_what_breaches_first(app, client, make_user):
    now = utcnow()
    # Four decided in the last hour, one opened: a net drain of three an hour.
    for n in range(4):
        _forecast_case(f"done-{n}", now, priority=0, due_in_hours=5, decided_minutes_ago=10 + n)
    _forecast_case("fresh", now, priority=50, due_in_hours=10, opened_minutes_ago=5)
    # Taken in priority order, one every 15 minutes: "fresh" at 15 min, "first" at 30 (due at 36),
    # "second" at 45, "third" at 60 (due at 30: too late).
    _forecast_case("first", now, priority=40, due_in_hours=0.6)
    _forecast_case("second", now, priority=30, due_in_hours=10)
    _forecast_case("third", now, priority=20, due_in_hours=0.5)
    _forecast_case("overdue", now, priority=10, due_in_hours=-1)
    _forecast_case("waits", now, priority=5, due_in_hours=1)  # turn at 1 h 30: too late
    db.session.commit()
    forecast = queue_health.forecast(now)
    assert (forecast.decided_last_hour, forecast.opened_last_hour, forecast.waiting) == (4, 1, 6)
    assert forecast.clears_in_hours == pytest.approx(2.0) and forecast.shrinking
    assert forecast.will_breach == 2  # "third" and "waits"; "overdue" is already late
    make_user("lead", role="lead")
    client.post("/login", data={"username": "lead", "password": PASSWORD})
    page = client.get("/lead/health").get_data(as_text=True)
    assert "clears in about <strong>2.0 hours</strong>" in page
    assert '<strong>2 cases</strong> within their deadline now will pass it' in page
    assert "1 case already past it" in page
    assert "00:00" in page or ":00</text>" in page  # the hours axis reads as clock hours


def test_a_queue_that_grows_does_not_clear_and_no_pace_means_every_case_breaches(app):
    now = utcnow()
    _forecast_case("one", now, priority=1, due_in_hours=3, opened_minutes_ago=20)
    _forecast_case("two", now, priority=2, due_in_hours=-2, opened_minutes_ago=20)
    db.session.commit()
    forecast = queue_health.forecast(now)
    assert forecast.decided_last_hour == 0 and not forecast.shrinking and forecast.clears_at is None
    assert forecast.will_breach == 1


def test_the_health_page_says_whether_the_queue_is_a_flood_and_what_the_policy_does(app, client, make_user):
    now = utcnow()
    # A flood needs min_open_cases open (set to 3 here) and more open than decided in queue_hours.
    publish_policy({**current_policy().settings, "flood": {"enabled": False, "min_open_cases": 3, "queue_hours": 24}},
                   reason="test", actor="test")
    for n in range(2):
        _forecast_case(f"done-{n}", now, priority=0, due_in_hours=5, decided_minutes_ago=30)
    for n in range(3):
        _forecast_case(f"open-{n}", now, priority=n, due_in_hours=5)
    db.session.commit()
    make_user("lead", role="lead")
    client.post("/login", data={"username": "lead", "password": PASSWORD})

    def flood_card() -> str:
        page = client.get("/lead/health").get_data(as_text=True)
        return " ".join(page[page.index('id="flood"'):page.index("</section>", page.index('id="flood"'))].split())

    card = flood_card()
    assert "The queue is a flood" in card and "<strong>3 cases open</strong>, more than the 2 cases" in card
    assert "flood rule is <strong>off</strong>" in card
    # The queue page says so too, with a link to the card.
    assert 'id="flood-notice"' in client.get("/lead/").get_data(as_text=True)
    # Switched on, the page says what a vote costs in a flood and otherwise.
    publish_policy({**current_policy().settings, "flood": {"enabled": True, "min_open_cases": 3, "vote_cost": 0.06}},
                   reason="test", actor="test")
    db.session.commit()
    card = flood_card()
    assert "flood rule is <strong>on</strong>" in card and "worth 0.06 (otherwise 0.024)" in card
    # One more verdict: as many decided as open is not a flood.
    _forecast_case("done-2", now, priority=0, due_in_hours=5, decided_minutes_ago=5)
    db.session.commit()
    card = flood_card()
    assert "Not a flood" in card and "3 cases open, 3 cases decided by the jury in the last 24 hours" in card
    # The queue page reads the flood at most once a minute: two minutes on, no notice.
    with simulated_clock(lambda: now + timedelta(minutes=2)):
        assert 'id="flood-notice"' not in client.get("/lead/").get_data(as_text=True)
