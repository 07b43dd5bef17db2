"""Threshold tuning: confusion counts and the what-if replay against a hand-computed fixture."""
from __future__ import annotations

from datetime import timedelta

import pytest

from jury.leads import tuning
from models import Assignment, Case, MutedReporter, Post, Report, Score, User, Verdict, Vote, db, utcnow
from tests.conftest import PASSWORD

# (post, toxicity, received days ago, reported by, verdict, votes on its case)
POSTS = [
    ("p1", 0.95, 0.5, None, "remove", 3),
    ("p2", 0.85, 1.0, None, "keep", 3),
    ("p3", 0.70, 1.5, "alice", "remove", 5),
    ("p4", 0.60, 0.2, None, None, 0),
    ("p5", 0.40, 0.3, "bob", "keep", 3),
    ("p6", 0.75, 1.2, None, "remove", 0),  # decided by a lead, no panel
    ("p7", 0.90, 5.0, None, None, 0),  # outside a 2-day window
    ("p9", 0.20, 0.1, "spammer", None, 0),  # reported only by a muted reporter
]
# Seat-to-vote times of the 14 votes, in seconds: the median is 60.
DURATIONS = [20, 40, 60, 60, 60, 60, 60, 60, 60, 80, 100, 120, 140, 600]


def seed_history() -> None:
    """The fixture the figures below were computed from by hand."""
    now = utcnow()
    jurors = [User(username=f"j{i}", password_hash="x", role="juror", state="active") for i in range(5)]
    db.session.add_all(jurors)
    db.session.add(MutedReporter(reporter_id="spammer", reason="spam wave"))
    db.session.flush()
    durations = iter(DURATIONS)
    for pid, tox, days_ago, reporter, outcome, votes in POSTS:
        received = now - timedelta(days=days_ago)
        post = Post(external_id=pid, author_id="a", text=pid, content_hash="h", received_at=received,
                    scored_at=received)
        db.session.add(post)
        db.session.flush()
        db.session.add(Score(post_id=post.id, model_name="m", model_version="1", labels={"toxicity": tox},
                             max_score=tox, scored_at=received))
        if reporter:
            db.session.add(Report(external_id=f"r-{pid}", post_id=post.id, reporter_id=reporter, reason="spam",
                                  received_at=received))
        if outcome is None:
            continue
        case = Case(post_id=post.id, origin="reported" if reporter else "auto_flagged", state="decided",
                    panel_size=3, open_seats=0, policy_version=1, opened_at=received,
                    sla_deadline=received + timedelta(hours=24), decided_at=received + timedelta(hours=1))
        db.session.add(case)
        db.session.flush()
        for juror in jurors[:votes]:
            leased = received + timedelta(minutes=5)
            db.session.add(Assignment(case_id=case.id, juror_id=juror.id, state="voted", leased_at=leased,
                                      expires_at=leased + timedelta(minutes=10)))
            db.session.add(Vote(case_id=case.id, juror_id=juror.id, decision=outcome,
                                cast_at=leased + timedelta(seconds=next(durations))))
        db.session.add(Verdict(case_id=case.id, outcome=outcome, tally={}, method="quorum" if votes else "lead",
                               policy_version=1, statement="", decided_at=received + timedelta(hours=1)))
    # Another model's score never counts for model m.
    other = Post(external_id="p8", author_id="a", text="p8", content_hash="h", received_at=now)
    db.session.add(other)
    db.session.flush()
    db.session.add(Score(post_id=other.id, model_name="other", model_version="1", labels={"toxicity": 0.99}))
    db.session.commit()


def test_what_if_matches_the_hand_computed_figures(app):
    """Candidate 0.65 against the policy's 0.80 on toxicity, over 2 days."""
    seed_history()
    model = tuning.find_model("m:1")
    result = tuning.what_if(model, "toxicity", 0.65, 2)
    # Posts p1-p6 and p9 are in the window and scored by m.
    assert result.posts == 7
    # In force: p1, p2 (score >= 0.80) and p3, p5 (reported); p9's only reporter is muted.
    assert result.cases_current == 4
    # Candidate: those and p6 (0.75); p4 (0.60) stays under.
    assert result.cases_candidate == 5
    assert result.cases_per_day == pytest.approx(2.5)
    assert result.cases_per_day_current == pytest.approx(2.0)
    # 14 votes over the 4 verdicts that had a panel; the lead's verdict on p6 is left out.
    assert result.votes_per_verdict == pytest.approx(3.5)
    assert result.seconds_per_vote == pytest.approx(60.0)
    assert result.measured
    assert result.juror_hours_per_day == pytest.approx(2.5 * 3.5 * 60 / 3600)
    assert result.juror_hours_per_day_current == pytest.approx(2.0 * 3.5 * 60 / 3600)
    # The jury removed p1, p3 and p6; the policy in force never sends p6 to the jury.
    assert (result.removals, result.missed_current, result.missed_candidate) == (3, 1, 0)


def test_a_higher_threshold_misses_removals(app):
    """At 0.96 nothing is flagged by the model: only reported posts open cases, and p1 and p6 are missed."""
    seed_history()
    result = tuning.what_if(tuning.find_model("m:1"), "toxicity", 0.96, 2)
    assert (result.cases_candidate, result.missed_candidate) == (2, 2)


def test_confusion_counts_and_curves(app):
    """At 0.65: TP p1 p3 p6, FP p2, TN p5; 5 of m's 8 scores reach it."""
    seed_history()
    model = tuning.find_model("m:1")
    counts = tuning.confusion(model, "toxicity", 0.65)
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (3, 1, 0, 1)
    assert counts.precision == pytest.approx(0.75) and counts.recall == 1.0
    assert counts.flag_rate == pytest.approx(5 / 8)
    points = tuning.curves(model, "toxicity")
    assert len(points) == 21 and points[0].recall == 1.0 and points[-1].flag_rate == 0.0
    assert [ref.key for ref in tuning.models()] == ["m:1", "other:1"]


def lead_client(app, client):
    """The test client logged in as a lead."""
    from jury.jurors import users

    users.create_user("lead", PASSWORD, "lead")
    client.post("/login", data={"username": "lead", "password": PASSWORD})
    return client


def test_tuning_page_draws_curves_and_shows_the_what_if(app, client):
    """The page carries an SVG chart (no script) and the same figures; the fragment follows the threshold."""
    seed_history()
    lead_client(app, client)
    page = client.get("/lead/tuning?model=m:1&label=toxicity&threshold=0.65&days=2")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and "<polyline" in html
    assert '<td id="whatif-cases">2.5</td>' in html and '<td id="whatif-missed">0</td>' in html
    assert "/lead/policy?s:auto_flag.toxicity=0.65" in html.replace("%3A", ":")
    fragment = client.get("/lead/tuning/whatif?model=m:1&label=toxicity&threshold=0.96&days=2")
    assert '<td id="whatif-cases">1.0</td>' in fragment.get_data(as_text=True)
    assert '<td id="whatif-missed">2</td>' in fragment.get_data(as_text=True)


@pytest.mark.parametrize("query", ["threshold=2&days=2", "threshold=abc&days=2", "threshold=0.5&days=1000",
                                   "threshold=-0.1&days=2", "threshold=nan&days=2"])
def test_bad_tuning_input_is_refused(app, client, query):
    """Out-of-range or malformed thresholds and windows get a 400, not a traceback."""
    seed_history()
    lead_client(app, client)
    assert client.get(f"/lead/tuning?model=m:1&label=toxicity&{query}").status_code == 400
    assert client.get(f"/lead/tuning/whatif?model=m:1&label=toxicity&{query}").status_code == 400


def test_hostile_label_and_model_names_are_escaped(app, client):
    """A model version or label name with markup is shown as text, in the page and the SVG."""
    post = Post(external_id="x", author_id="a", text="x", content_hash="h")
    db.session.add(post)
    db.session.flush()
    db.session.add(Score(post_id=post.id, model_name="<script>m", model_version="1",
                         labels={"<b>evil</b>": 0.5}))
    db.session.commit()
    lead_client(app, client)
    html = client.get("/lead/tuning").get_data(as_text=True)
    assert "<script>m" not in html and "&lt;script&gt;m" in html
    assert "<b>evil</b>" not in html
