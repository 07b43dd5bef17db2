"""Mastodon reports into Jury: the signed report.created webhook and the poll, alone and together."""
from __future__ import annotations

import json

import pytest
from mastodon_mock import ADMIN_TOKEN, ALL_SCOPES, MockMastodon
from sqlalchemy import func, select

from models import Account, AuditEvent, Case, Post, Report, db
from network.mastodon_client import MastodonClient
from tests.conftest import make_app
from triage import mastodon_reports as sync

SECRET = "test-webhook-secret"  # the test apps' NETWORK_WEBHOOK_SECRET
HOSTILE = ('<p>hello <script>alert(1)</script><img src=x onerror="alert(2)"> '
           '<a href="javascript:alert(3)">click</a> &lt;b&gt;not bold&lt;/b&gt;</p><p>second<br>line</p>')


@pytest.fixture
def mastodon():
    with MockMastodon() as server:
        server.add_account("100", "author")
        server.add_account("200", "reporter")
        server.add_status("9001", "100", "<p>you are all <b>idiots</b></p>")
        server.add_status("9002", "100", HOSTILE)
        server.add_report("11", "200", "100", ["9001"], category="violation",
                          rules=[{"id": "3", "text": "No harassment or dogpiling"}], comment="rude")
        server.add_report("12", "200", "100", ["9001", "9002"], category="spam")
        yield server


@pytest.fixture
def app(backend, tmp_path, request, mastodon):
    """The app on each backend, speaking to the mock instance."""
    app = make_app(backend, tmp_path, request, NETWORK_ADAPTER="mastodon", NETWORK_URL=mastodon.url,
                   NETWORK_TOKEN=ADMIN_TOKEN)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def deliver(client, body: bytes, signature: str | None = "good", secret: str = SECRET):
    headers = {"Content-Type": "application/json"}
    if signature == "good":
        headers["X-Hub-Signature"] = MockMastodon.sign(secret, body)
    elif signature is not None:
        headers["X-Hub-Signature"] = signature
    return client.post("/api/v1/webhooks/mastodon", data=body, headers=headers)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_report_created_webhook_opens_a_case_per_reported_status(client, mastodon):
    response = deliver(client, mastodon.webhook_body("12"))
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["created"] == 2
    posts = {p.external_id: p for p in db.session.scalars(select(Post))}
    assert set(posts) == {"9001", "9002"} and {p.author_id for p in posts.values()} == {"100"}
    reports = db.session.scalars(select(Report)).all()
    assert {r.external_id for r in reports} == {"12:9001", "12:9002"}
    assert {r.reporter_id for r in reports} == {"200"} and {r.reason for r in reports} == {"spam"}
    assert count(Case) == 2
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "reports_received")).actor \
        == "mastodon:webhook"


def test_the_author_becomes_an_account_with_its_acct_and_display_name(client, mastodon):
    mastodon.add_account("300", "remote", domain="far.example", display_name="Far \x00<b>Away</b>\n")
    mastodon.add_status("9003", "300", "<p>hi</p>")
    mastodon.add_report("13", "200", "300", ["9003"], category="spam")
    mastodon.accounts["100"]["display_name"] = "x" * 500
    deliver(client, mastodon.webhook_body("12"))
    deliver(client, mastodon.webhook_body("13"))
    found = {a.external_id: (a.handle, a.display_name) for a in db.session.scalars(select(Account))}
    # The reporter is not an author; a display name over the cap is cut, control characters become spaces.
    assert found == {"100": ("author", "x" * 200), "300": ("remote@far.example", "Far  <b>Away</b>")}


def test_an_author_handle_the_intake_cannot_take_costs_only_the_handle(client, mastodon):
    mastodon.accounts["100"]["username"] = "bad\nname"
    assert deliver(client, mastodon.webhook_body("12")).status_code == 202
    assert db.session.scalar(select(Account.handle).where(Account.external_id == "100")) is None
    assert count(Post) == 2


def test_status_html_becomes_plain_text(client, mastodon):
    deliver(client, mastodon.webhook_body("12"))
    text = db.session.scalar(select(Post.text).where(Post.external_id == "9002"))
    assert "<" not in text.replace("<b>not bold</b>", "")
    assert "alert(1)" not in text and "onerror" not in text and "javascript:" not in text
    assert "<b>not bold</b>" in text  # escaped text stays text; templates escape it again
    assert text.endswith("second\nline")
    assert db.session.scalar(select(Post.text).where(Post.external_id == "9001")) == "you are all idiots"


def test_replayed_deliveries_store_nothing_twice(client, mastodon):
    body = mastodon.webhook_body("11")
    assert deliver(client, body).get_json()["created"] == 1
    for _ in range(3):
        again = deliver(client, body)
        assert again.status_code == 202 and again.get_json()["created"] == 0
        assert again.get_json()["duplicates"] == 1
    assert (count(Post), count(Report), count(Case)) == (1, 1, 1)


@pytest.mark.parametrize("signature", [None, "", "sha256=" + "0" * 64, "sha256=zz", "md5=abc", "bogus"])
def test_bad_or_missing_signatures_are_refused(client, mastodon, signature):
    response = deliver(client, mastodon.webhook_body("11"), signature)
    assert response.status_code == 401 and "signature" in response.get_json()["error"]
    assert count(Report) == 0


def test_a_signature_with_another_secret_or_over_another_body_is_refused(client, mastodon):
    body = mastodon.webhook_body("11")
    assert deliver(client, body, secret="someone-elses-secret").status_code == 401
    forged = body.replace(b'"comment": "rude"', b'"comment": "forged"')
    assert deliver(client, forged, MockMastodon.sign(SECRET, body)).status_code == 401
    assert count(Report) == 0


@pytest.mark.parametrize("depth", [100, 1000])
def test_a_deeply_nested_body_with_a_good_signature_is_a_json_400(client, mastodon, depth):
    body = mastodon.webhook_body("11")[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}"
    response = deliver(client, body)
    assert response.status_code == 400 and "nested too deeply" in response.get_json()["error"]
    assert count(Report) == 0


def test_oversized_bodies_are_refused_before_parsing(app, client, mastodon):
    app.config["INTAKE_MAX_BYTES"] = 1024
    body = json.dumps({"event": "report.created", "object": {"comment": "x" * 5000}}).encode()
    assert deliver(client, body).status_code == 413
    assert count(Report) == 0


@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe{}", b"[]", b'{"event": 5}', b'"x"'])
def test_malformed_bodies_are_400(client, body):
    assert deliver(client, body).status_code == 400


@pytest.mark.parametrize("obj", [None, [], {"id": "1"}, {"id": "1", "account": {"id": "2"}},
                                 {"id": "1", "account": {"id": "2"}, "target_account": {"id": "3"}, "statuses": "x"},
                                 {"id": "1", "account": {"id": "2"}, "target_account": {"id": "3"},
                                  "statuses": [{"id": "", "content": "x"}]}])
def test_report_objects_lacking_what_jury_needs_are_400(client, obj):
    body = json.dumps({"event": "report.created", "object": obj}).encode()
    assert deliver(client, body).status_code == 400
    assert count(Report) == 0


def test_other_events_are_acknowledged_and_ignored(client, mastodon):
    body = mastodon.webhook_body("11", event="report.updated")
    response = deliver(client, body)
    assert response.status_code == 200 and response.get_json() == {"ignored": "report.updated"}
    assert count(Report) == 0


def test_an_account_only_report_is_skipped_not_refused(client, mastodon):
    mastodon.add_report("13", "200", "100", [])
    response = deliver(client, mastodon.webhook_body("13"))
    assert response.status_code == 202 and response.get_json()["skipped"] == 1
    assert count(Report) == 0


def test_the_webhook_is_off_unless_the_adapter_is_mastodon(sqlite_app, mastodon):
    client = sqlite_app.test_client()
    assert deliver(client, mastodon.webhook_body("11")).status_code == 404


def test_category_and_rules_become_the_reason(app, mastodon):
    mastodon.add_status("9003", "100", "<p>x</p>")
    mastodon.add_report("14", "200", "100", ["9003"], category="legal")
    mastodon.add_status("9004", "100", "<p>y</p>")
    mastodon.add_report("15", "200", "100", ["9004"], category="violation",
                        rules=[{"id": "1", "text": "Be nice"}, {"id": "2", "text": "No threats of violence"}])
    mastodon.add_status("9005", "100", "<p>z</p>")
    mastodon.add_report("16", "200", "100", ["9005"], category="violation", rules=[{"id": "8", "text": "Rule 8"}])
    app.config["MASTODON_RULE_MAP"] = "8=sexual"
    sync.poll_once()
    reasons = dict(db.session.execute(select(Report.external_id, Report.reason)).all())
    assert reasons == {"11:9001": "harassment", "12:9001": "spam", "12:9002": "spam", "14:9003": "illegal",
                       "15:9004": "violence_threat", "16:9005": "sexual"}
    comment = db.session.scalar(select(Report.comment).where(Report.external_id == "11:9001"))
    assert comment == "rude\nRules cited: No harassment or dogpiling"


def test_a_bad_rule_map_is_named():
    with pytest.raises(ValueError, match="9=nonsense"):
        sync.parse_rule_map("1=spam, 9=nonsense")


def test_poll_follows_pages_and_remembers_where_it_stopped(app, mastodon):
    for number in range(100, 305):
        mastodon.add_status(str(50_000 + number), "100", f"<p>post {number}</p>")
        mastodon.add_report(str(number), "200", "100", [str(50_000 + number)])
    summary = sync.poll_once()
    assert summary["pages"] == 2 and summary["reports"] == 207 and summary["cursor"] == "304"
    assert count(Report) == 208  # report 12 covers two statuses
    assert "limit=200" in mastodon.calls("GET")[0] and "max_id=" in mastodon.calls("GET")[1]
    mastodon.add_status("60000", "100", "<p>late</p>")
    mastodon.add_report("305", "200", "100", ["60000"])
    second = sync.poll_once()
    assert "since_id=304" in mastodon.calls("GET")[-1]
    assert (second["reports"], second["created"], second["cursor"]) == (1, 1, "305")
    full = sync.poll_once(full=True)
    assert full["created"] == 0 and full["duplicates"] == 209


def test_poll_and_webhook_together_produce_no_duplicates(client, mastodon):
    deliver(client, mastodon.webhook_body("11"))
    summary = sync.poll_once()
    assert (summary["created"], summary["duplicates"]) == (2, 1)
    assert deliver(client, mastodon.webhook_body("12")).get_json()["created"] == 0
    sync.poll_once(full=True)
    assert (count(Post), count(Report), count(Case)) == (2, 3, 2)


def test_flask_network_poll_pulls_once(runner, mastodon):
    result = runner.invoke(args=["network", "poll"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["created"] == 3
    assert count(Report) == 3


def test_flask_network_poll_names_a_missing_scope(runner, mastodon):
    mastodon.tokens[ADMIN_TOKEN] = set(ALL_SCOPES) - {"admin:read:reports"}
    result = runner.invoke(args=["network", "poll"])
    assert result.exit_code != 0 and "admin:read:reports" in result.output
    assert ADMIN_TOKEN not in result.output


def test_flask_network_poll_needs_a_token(app, runner):
    app.config["NETWORK_TOKEN"] = ""
    result = runner.invoke(args=["network", "poll"])
    assert result.exit_code != 0 and "NETWORK_TOKEN" in result.output


def test_flask_network_poll_needs_the_mastodon_adapter(sqlite_app):
    result = sqlite_app.test_cli_runner().invoke(args=["network", "poll"])
    assert result.exit_code != 0 and "NETWORK_ADAPTER=mastodon" in result.output


def test_a_rate_limited_poll_says_when_to_come_back(app, mastodon):
    mastodon.throttle, mastodon.reset_in = 1, 45
    with pytest.raises(sync.MastodonError) as info:
        sync.poll_once(MastodonClient(mastodon.url, ADMIN_TOKEN))
    assert 40 <= info.value.retry_after <= 46
    assert sync.poll_once()["created"] == 3


def test_concurrent_webhook_deliveries_and_polls_store_each_report_once(app, mastodon):
    import threading

    import requests

    from jury.demo.devserver import LiveServer

    with LiveServer(app) as server:
        app.config["NETWORK_URL"] = mastodon.url  # the live server points it at its sandbox; undo that
        bodies = [mastodon.webhook_body("11"), mastodon.webhook_body("12")]
        errors: list[BaseException] = []
        start = threading.Barrier(6)

        def send(body):
            try:
                start.wait()
                response = requests.post(server.url + "/api/v1/webhooks/mastodon", data=body, timeout=30,
                                         headers={"X-Hub-Signature": MockMastodon.sign(SECRET, body),
                                                  "Content-Type": "application/json"})
                assert response.status_code == 202, response.text
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        def poll():
            try:
                start.wait()
                with app.app_context():
                    sync.poll_once(full=True)
                    db.session.remove()
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

        threads = [threading.Thread(target=send, args=(bodies[i % 2],)) for i in range(4)]
        threads += [threading.Thread(target=poll) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    db.session.expire_all()
    assert (count(Post), count(Report), count(Case)) == (2, 3, 2)


def test_the_poll_loop_keeps_going_through_failures(app, mastodon):
    import threading
    import time

    mastodon.fail_next = [503]  # the first poll fails; the loop must not die of it
    stop = threading.Event()
    thread = threading.Thread(target=sync.run_forever, args=(app, 0.05, stop), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and count(Report) < 3:
        time.sleep(0.1)
        db.session.expire_all()
    stop.set()
    thread.join(10)
    assert count(Report) == 3 and not thread.is_alive()


def test_a_jurors_case_page_shows_mastodon_html_as_inert_text(client, mastodon, make_user, auth):
    from triage import dealing

    deliver(client, mastodon.webhook_body("12"))
    juror = make_user("juror", network_account_id="juror-account")
    auth.login("juror")
    for _ in range(2):
        assignment = dealing.deal_next(juror)
        page = client.get(f"/cases/{assignment.case_id}").get_data(as_text=True)
        if "not bold" in page:
            break
        from jury.panels import voting

        voting.skip(assignment.case_id, juror)
    assert "not bold" in page
    assert "<script>alert(1)" not in page and "onerror=" not in page and 'href="javascript:' not in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page
