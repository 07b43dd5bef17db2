"""The strike ladder's what-if on the policy page: the candidate ladder beside the one in force."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from models import Case, Post, Verdict, db, utcnow

BAN_AT_ONCE = json.dumps([{"at": 1, "action": "ban"}])


def removals(author: str, days_ago: list[float], rule: str = "spam", posterior: float | None = None) -> None:
    """First-instance removals of the author's posts, decided that many days ago."""
    now = utcnow()
    for index, ago in enumerate(days_ago):
        at = now - timedelta(days=ago)
        post = Post(external_id=f"{author}-{index}", author_id=author, text="t", content_hash="h", received_at=at)
        db.session.add(post)
        db.session.flush()
        case = Case(post_id=post.id, origin="reported", state="decided", panel_size=3, open_seats=0,
                    policy_version=1, opened_at=at, sla_deadline=at + timedelta(days=1), decided_at=at)
        db.session.add(case)
        db.session.flush()
        db.session.add(Verdict(case_id=case.id, outcome="remove", rule=rule, tally={}, method="quorum",
                               policy_version=1, statement="", decided_at=at, posterior=posterior))
    db.session.commit()


@pytest.fixture
def history(app):
    # Three spam removals in the last 30 days: the default ladder warns (1) and suspends (3).
    removals("three", [20, 10, 2])
    # One removal in the period; one 40 days ago still counts (90-day window) and lifts it to a warning again.
    removals("two", [40, 5])
    # A removal 60 days ago only: outside the 30 days, no measure in the period.
    removals("old", [60])


def figures(html: str, key: str) -> tuple[str, str]:
    def cell(suffix: str) -> str:
        marker = f'id="strikes-{key}-{suffix}">'
        return html.split(marker, 1)[1].split("<", 1)[0]
    return cell("in-force"), cell("candidate")


def test_the_fragment_weighs_uncertain_removals_by_the_candidate_setting(app, client, lead):
    removals("unsure", [3], rule="violence_threat", posterior=0.9)
    removals("sure", [3], rule="violence_threat", posterior=0.99)
    html = client.get("/lead/policy/strikes-whatif?" + urlencode({"s:strikes.uncertain_below": "0.95"})).get_data(
        as_text=True)
    # In force, both threats suspend at once; the candidate only warns the author of the uncertain one.
    assert figures(html, "suspended") == ("2", "1")
    assert figures(html, "warned") == ("0", "1")
    refused = client.get("/lead/policy/strikes-whatif?" + urlencode({"s:strikes.uncertain_below": "2"}))
    assert refused.status_code == 400
    assert "strikes.uncertain_below must be from 0 to 1" in refused.get_data(as_text=True)


def test_the_fragment_counts_both_ladders(app, client, lead, history):
    response = client.get("/lead/policy/strikes-whatif?" + urlencode({"s:strikes.ladder": BAN_AT_ONCE}))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # In force: "three" warned then suspended; "two" warned at day 5 (its 40-day-old strike: total 2, warn rung).
    assert figures(html, "warned") == ("2", "0")
    assert figures(html, "suspended") == ("1", "0")
    # Candidate: the first removal in the period bans "three" and "two"; "two" was banned 40 days ago already
    # (before the period), so only "three" counts.
    assert figures(html, "banned") == ("0", "1")
    assert figures(html, "accounts") == ("2", "1")


def test_a_shorter_window_lets_old_strikes_lapse(app, client, lead, history):
    html = client.get("/lead/policy/strikes-whatif?" + urlencode({"s:strikes.window_days": "7"})).get_data(as_text=True)
    # Strikes last 7 days: "three" never holds 3 at once, so it is warned three times and never suspended.
    assert figures(html, "suspended") == ("1", "0")
    assert figures(html, "warned") == ("2", "2")


def test_a_bad_ladder_is_named_and_other_fields_do_not_matter(app, client, lead, history):
    response = client.get("/lead/policy/strikes-whatif?" + urlencode({"s:strikes.ladder": "[{\"at\": 0}]"}))
    assert response.status_code == 400
    assert "strikes.ladder[0]" in response.get_data(as_text=True)
    ok = client.get("/lead/policy/strikes-whatif?" + urlencode({"s:panel_size": "99"}))
    assert ok.status_code == 200 and 'id="strikes-warned-in-force">2<' in ok.get_data(as_text=True)


def test_the_preview_button_works_without_script_and_publishes_nothing(app, client, lead, history):
    from triage.policy import current_policy

    version = current_policy(fresh=True).version
    response = client.post("/lead/policy", data={"preview_strikes": "1", "s:strikes.ladder": BAN_AT_ONCE})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert figures(html, "banned") == ("0", "1")
    assert BAN_AT_ONCE.replace('"', "&#34;") in html  # the edited ladder stays in the form
    assert current_policy(fresh=True).version == version
    # The page itself shows the figures for the ladder in force, and the block sits on the policy page.
    html = client.get("/lead/policy").get_data(as_text=True)
    assert figures(html, "suspended") == ("1", "1") and 'id="preview-strikes"' in html


def test_a_failed_publish_still_shows_the_figures(app, client, lead, history):
    response = client.post("/lead/policy", data={"reason": "", "s:strikes.ladder": BAN_AT_ONCE})
    assert response.status_code == 400
    assert figures(response.get_data(as_text=True), "banned") == ("0", "1")
