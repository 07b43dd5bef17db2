"""Verdicts applied to the network over real HTTP: the sandbox network, retries, dead letters, lost jobs."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from jury.demo import sandbox_network as sandbox
from jury.panels import voting
from jury.tasks import sweeper
from models import Action, Case, Post, SandboxAction, SandboxPost, db, utcnow
from network.signing import SIGNATURE_HEADER, verify
from tests.conftest import WEBHOOK_SECRET, post_payload, report_payload
from triage import dealing, outbox

THREAT = "I know where you live and I will hurt you and your family tonight."


@pytest.fixture
def jurors(make_user):
    return [make_user(f"juror{i}") for i in range(3)]


def reach_verdict(jurors, decision="remove", rule="violence_threat"):
    for juror in jurors:
        assignment = dealing.deal_next(juror)
        voting.cast_vote(assignment.case_id, juror, decision, rule if decision == "remove" else None)


def put_on_network(api, pid="p1", text=THREAT, reason="violence_threat"):
    sandbox.add_posts([{"id": pid, "author_id": "author-1", "text": text}])
    api.posts(post_payload(pid, text))
    api.reports(report_payload(f"r-{pid}", pid, reason=reason))


def test_a_removal_lands_on_the_sandbox_network(live_server, api, jurors):
    put_on_network(api)
    # The threat crossed the interim-hide threshold: hidden while the jury works.
    assert db.session.scalar(select(SandboxPost.state)) == "hidden"
    reach_verdict(jurors)
    db.session.expire_all()
    assert db.session.scalar(select(SandboxPost.state)) == "removed"
    assert db.session.scalar(select(Post.state)) == "removed"
    actions = db.session.scalars(select(Action).order_by(Action.id)).all()
    # A violent threat weighs 3 strikes: the default ladder suspends its author for 7 days at once.
    assert [(a.type, a.state) for a in actions] == [
        ("hide_post", "sent"), ("remove_post", "sent"), ("notify", "sent"), ("suspend_account", "sent")]
    assert db.session.scalar(select(Case.state)) == "actioned"
    received = db.session.scalars(select(SandboxAction).order_by(SandboxAction.id)).all()
    assert [r.action_id for r in received] == [a.idempotency_key for a in actions]
    assert "Violence or threats" in received[1].payload["statement_of_reasons"]
    page = live_server.app.test_client().get("/sandbox/").get_data(as_text=True)
    assert "removed by the moderators" in page


def test_a_kept_post_is_unhidden(live_server, api, jurors):
    put_on_network(api)
    reach_verdict(jurors, decision="keep")
    db.session.expire_all()
    assert db.session.scalar(select(SandboxPost.state)) == "visible"
    types = [a.type for a in db.session.scalars(select(Action).order_by(Action.id))]
    assert types == ["hide_post", "unhide_post", "notify"]


def test_a_resent_action_is_applied_once(live_server, api, jurors):
    put_on_network(api)
    reach_verdict(jurors)
    action = db.session.scalar(select(Action).where(Action.type == "remove_post"))
    db.session.execute(update(Action).where(Action.id == action.id).values(state="pending"))
    db.session.commit()
    assert outbox.deliver(action.id) == "sent"  # the network answered 409: already applied
    assert db.session.scalar(
        select(db.func.count()).select_from(SandboxAction).where(SandboxAction.action_id == action.idempotency_key)
    ) == 1


def test_refused_action_is_a_dead_letter_shown_to_leads_and_retried(live_server, api, jurors, make_user):
    api.posts(post_payload("ghost", THREAT))  # never put on the sandbox network: it answers 404
    api.reports(report_payload("r1", "ghost", reason="violence_threat"))
    reach_verdict(jurors)
    dead = db.session.scalar(select(Action).where(Action.type == "remove_post"))
    assert dead.state == "dead" and "404" in dead.last_error
    make_user("lead", role="lead")
    client = live_server.app.test_client()
    client.post("/login", data={"username": "lead", "password": "correct horse battery"})
    page = client.get("/lead/actions").get_data(as_text=True)
    assert "remove the post" in page and "HTTP 404" in page  # the action named in words
    sandbox.add_posts([{"id": "ghost", "author_id": "author-1", "text": THREAT}])
    assert client.post(f"/lead/actions/{dead.id}/retry").status_code == 302
    db.session.expire_all()
    assert db.session.get(Action, dead.id).state == "sent"
    assert db.session.scalar(select(SandboxPost.state).where(SandboxPost.external_id == "ghost")) == "removed"


class FlakyNetwork:
    """A network endpoint that answers 503 to the first `failures` deliveries of each action, then accepts."""

    def __init__(self, failures: int):
        self.failures = failures
        self.seen: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                verify(WEBHOOK_SECRET, body, self.headers.get(SIGNATURE_HEADER))
                outer.seen.append({"key": self.headers.get("Idempotency-Key"), **json.loads(body)})
                tries = sum(1 for seen in outer.seen if seen["key"] == self.headers.get("Idempotency-Key"))
                status = 503 if tries <= outer.failures else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def flaky(app):
    network = FlakyNetwork(failures=2)
    app.config["NETWORK_ADAPTER"] = "webhook"
    app.config["NETWORK_URL"] = network.url
    yield network
    network.close()


def make_due(action_id: int) -> None:
    db.session.execute(update(Action).where(Action.id == action_id).values(next_attempt_at=utcnow()))
    db.session.commit()


def test_server_errors_are_retried_with_backoff_and_the_same_key(flaky, api, jurors):
    api.posts(post_payload("p1", "hello"))
    api.reports(report_payload("r1", "p1", reason="spam"))
    reach_verdict(jurors, rule="spam")
    action = db.session.scalar(select(Action).where(Action.type == "remove_post"))
    assert action.state == "failed" and action.attempts == 1 and "503" in action.last_error
    assert action.next_attempt_at > utcnow() + timedelta(seconds=5)
    # Not due yet: a sweep does not send it early.
    sweeper.requeue_actions()
    assert db.session.get(Action, action.id).attempts == 1
    make_due(action.id)
    sweeper.requeue_actions()
    db.session.expire_all()
    assert db.session.get(Action, action.id).attempts == 2
    make_due(action.id)
    sweeper.requeue_actions()
    db.session.expire_all()
    action = db.session.get(Action, action.id)
    assert action.state == "sent" and action.attempts == 3
    keys = [seen["key"] for seen in flaky.seen if seen["type"] == "remove_post"]
    assert keys == [action.idempotency_key] * 3


def test_too_many_failures_end_in_a_dead_letter(flaky, api, jurors, monkeypatch):
    monkeypatch.setattr("triage.outbox.MAX_ATTEMPTS", 2)
    flaky.failures = 100
    api.posts(post_payload("p1", "hello"))
    api.reports(report_payload("r1", "p1", reason="spam"))
    reach_verdict(jurors, rule="spam")
    action = db.session.scalar(select(Action).where(Action.type == "remove_post"))
    make_due(action.id)
    sweeper.requeue_actions()
    db.session.expire_all()
    assert db.session.get(Action, action.id).state == "dead"


def test_lost_jobs_are_found_by_the_sweeper(live_server, api, jurors):
    put_on_network(api)
    reach_verdict(jurors)
    remove = db.session.scalar(select(Action).where(Action.type == "remove_post"))
    notify = db.session.scalar(select(Action).where(Action.type == "notify"))
    long_ago = utcnow() - timedelta(minutes=30)
    # One job vanished before running (Redis lost it); one worker died mid-delivery.
    db.session.execute(update(Action).where(Action.id == remove.id).values(state="pending", enqueued_at=long_ago))
    db.session.execute(update(Action).where(Action.id == notify.id).values(state="sending", enqueued_at=long_ago))
    db.session.commit()
    assert sweeper.requeue_actions() == 2
    db.session.expire_all()
    assert {a.state for a in db.session.scalars(select(Action))} == {"sent"}
    # Re-delivery was harmless: the network applied each action once (the hide, the removal, the
    # notice and the author's suspension).
    assert db.session.scalar(select(db.func.count()).select_from(SandboxAction)) == 4


def test_a_fresh_pending_action_is_left_to_its_job(app, api, jurors):
    api.posts(post_payload("p1", "hello"))
    api.reports(report_payload("r1", "p1", reason="spam"))
    reach_verdict(jurors, rule="spam")  # the network is unreachable: actions wait to retry
    db.session.execute(update(Action).values(state="pending", enqueued_at=utcnow(), next_attempt_at=utcnow()))
    db.session.commit()
    assert sweeper.requeue_actions() == 0


def test_sandbox_webhook_rejects_bad_signatures_and_payloads(app, client):
    from tests.conftest import signed

    body, headers = signed({"action_id": "a1", "type": "notify"}, secret="wrong")
    assert client.post("/sandbox/moderation/actions", data=body, headers=headers).status_code == 401
    body, headers = signed({"action_id": "a1", "type": "explode"}, secret=WEBHOOK_SECRET)
    assert client.post("/sandbox/moderation/actions", data=body, headers=headers).status_code == 400
    body, headers = signed(b"not json", secret=WEBHOOK_SECRET)
    assert client.post("/sandbox/moderation/actions", data=body, headers=headers).status_code == 400
    body, headers = signed({"action_id": "a1", "type": "notify", "account_id": "x"}, secret=WEBHOOK_SECRET)
    assert client.post("/sandbox/moderation/actions", data=body, headers=headers).status_code == 200
    assert client.post("/sandbox/moderation/actions", data=body, headers=headers).status_code == 409


def test_a_verdicts_actions_come_from_its_follow_up_once_however_often_it_runs(app, api, jurors, redis_url):
    from rq import Queue

    from jury.panels import verdicts
    from models import Verdict
    from triage import jobs

    app.config["REDIS_URL"] = redis_url  # jobs wait on Redis: the follow-up has not run yet
    put_on_network(api)
    reach_verdict(jurors)
    verdict = db.session.scalar(select(Verdict))
    # The deciding vote stored the verdict and closed the case, and queued the rest.
    assert verdict.followed_up_at is None and verdict.posterior is None
    assert db.session.scalar(select(Case.state)) == "decided"
    assert db.session.scalars(select(Action.type).where(Action.verdict_id == verdict.id)).all() == []
    queued = [job.func_name for job in Queue("actions", connection=jobs.redis_connection()).get_jobs()]
    assert queued.count("jury.panels.verdicts.follow_up") == 1
    # Run twice (a worker died after finishing, say): one set of actions, one posterior.
    app.config["REDIS_URL"] = None  # deliveries run inline from here on
    assert verdicts.follow_up(verdict.id) is True
    assert verdicts.follow_up(verdict.id) is False
    db.session.expire_all()
    verdict = db.session.get(Verdict, verdict.id)
    assert verdict.followed_up_at is not None and verdict.posterior is not None
    types = sorted(db.session.scalars(select(Action.type).where(Action.verdict_id == verdict.id)))
    assert types == ["notify", "remove_post"]


def test_the_sweeper_queues_a_lost_follow_up_again(app, api, jurors):
    from models import Verdict

    put_on_network(api)
    reach_verdict(jurors)
    verdict_id = db.session.scalar(select(Verdict.id))
    # As if the job had been lost before it ran: no actions, no mark, queued long ago.
    db.session.execute(Action.__table__.delete())
    db.session.execute(update(Verdict).values(followed_up_at=None, follow_up_enqueued_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert sweeper.sweep()["requeued_follow_ups"] == 1  # the job runs inline here
    db.session.expire_all()
    assert db.session.get(Verdict, verdict_id).followed_up_at is not None
    assert sorted(db.session.scalars(select(Action.type))) == ["notify", "remove_post"]
    assert sweeper.sweep()["requeued_follow_ups"] == 0


def reported_by_many(api, reporters: int, pid="p1", text=THREAT):
    """A post on the sandbox network, reported by `reporters` people: its verdict tells each of them."""
    sandbox.add_posts([{"id": pid, "author_id": "author-1", "text": text}])
    api.posts(post_payload(pid, text))
    for i in range(reporters):
        api.reports(report_payload(f"r-{pid}-{i}", pid, reporter=f"reporter-{i}", reason="violence_threat"))


def test_the_follow_up_delivers_its_verdicts_actions_itself_not_a_job_each(live_server, app, api, jurors, redis_url):
    from rq import Queue

    from jury.panels import verdicts
    from models import Verdict
    from triage import jobs

    app.config["REDIS_URL"] = redis_url  # jobs wait on Redis: only the follow-up is queued by the vote
    reported_by_many(api, reporters=3)
    reach_verdict(jurors)
    verdict = db.session.scalar(select(Verdict))
    assert verdicts.follow_up(verdict.id) is True  # as the worker runs it, with Redis configured
    db.session.expire_all()
    actions = db.session.scalars(select(Action).where(Action.verdict_id == verdict.id).order_by(Action.id)).all()
    assert [a.type for a in actions] == ["remove_post", "notify", "notify", "notify"]
    assert {a.state for a in actions} == {"sent"} and {a.attempts for a in actions} == {1}
    assert db.session.scalar(select(Case.state)) == "actioned"
    # No delivery job for any of the verdict's actions (the critical lane's hide, queued at intake, has one).
    queued = [job.args[0] for job in Queue("actions", connection=jobs.redis_connection()).get_jobs()
              if job.func_name == "triage.outbox.deliver"]
    assert not set(queued) & {a.id for a in actions}
    suspension = db.session.scalar(select(Action).where(Action.type == "suspend_account"))
    assert suspension.state == "sent" and suspension.attempts == 1  # in the same batch
    received = [r.action_id for r in db.session.scalars(select(SandboxAction).order_by(SandboxAction.id))]
    assert received[-5:] == [a.idempotency_key for a in actions] + [suspension.idempotency_key]  # in order, each once


def test_a_batch_leaves_alone_the_actions_it_cannot_claim(live_server, api, jurors):
    reported_by_many(api, reporters=3)
    reach_verdict(jurors)
    notices = db.session.scalars(select(Action).where(Action.type == "notify").order_by(Action.id)).all()
    done, due, later = (notice.id for notice in notices)
    db.session.execute(update(Action).where(Action.id == due).values(state="pending"))
    db.session.execute(update(Action).where(Action.id == later).values(
        state="failed", next_attempt_at=utcnow() + timedelta(hours=1)))
    db.session.commit()
    assert outbox.deliver_each([done, due, later, 999_999]) == ["sent", "sent", "failed", "missing"]
    keys = {a.id: a.idempotency_key for a in notices}
    applied = db.session.scalars(select(SandboxAction.action_id)).all()
    # The sent one was not sent again, the pending one went out (the network answered 409:
    # already applied), the one not yet due waits for its time.
    assert applied.count(keys[done]) == 1 and applied.count(keys[due]) == 1
    assert db.session.get(Action, later).attempts == 1


def test_the_breaker_opening_half_way_through_a_batch_puts_off_the_rest_untried(flaky, app, api, jurors):
    flaky.failures = 100
    app.config["NETWORK_BREAKER_THRESHOLD"] = 2
    app.config["NETWORK_BREAKER_COOLDOWN"] = 600
    api.posts(post_payload("p1", "hello"))
    for i in range(4):
        api.reports(report_payload(f"r{i}", "p1", reporter=f"reporter-{i}", reason="spam"))
    reach_verdict(jurors, rule="spam")  # the follow-up's batch: a removal, four notices and a warning
    actions = db.session.scalars(select(Action).order_by(Action.id)).all()
    assert [a.type for a in actions].count("warn_account") == 1
    assert len(actions) == 6 and len(flaky.seen) == 2  # two failures opened the breaker
    tried, untried = actions[:2], actions[2:]
    assert all(a.state == "failed" and a.attempts == 1 and "503" in a.last_error for a in tried)
    # Put off without a call, and without spending an attempt: a long outage never kills them.
    assert all(a.state == "failed" and a.attempts == 0 and "circuit breaker open" in a.last_error for a in untried)
    assert all(a.next_attempt_at >= utcnow() + timedelta(seconds=500) for a in untried)
