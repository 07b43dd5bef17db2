"""SCORER=cascade in the scoring job: reported and uncertain posts go to the strong model, every score names
its model."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from classifiers.cascade import CascadeScorer
from models import AuditEvent, Post, Score, db
from tests.conftest import post_payload, report_payload
from triage.policy import PolicyError, current_policy, publish_policy


class Keyword:
    """A stand-in model: a score per keyword found in the text, else a default."""

    def __init__(self, name: str, table: dict[str, float], default: float):
        self.name, self.version, self.labels = name, f"{name}-v1", ("toxicity",)
        self.table, self.default, self.seen = table, default, []

    def score(self, texts):
        self.seen.extend(texts)
        return [{"toxicity": next((v for k, v in self.table.items() if k in t), self.default)} for t in texts]


@pytest.fixture
def cascade(monkeypatch):
    from triage import intake

    cheap = Keyword("cheap", {"maybe": 0.5, "moron": 0.95}, 0.02)
    strong = Keyword("strong", {"maybe": 0.85}, 0.1)
    scorer = CascadeScorer(cheap, strong)
    monkeypatch.setattr(intake, "get_scorer", lambda: scorer)
    return scorer


def scored_by() -> dict[str, tuple[str, str, float]]:
    rows = db.session.execute(select(Post.external_id, Score.model_name, Score.model_version, Score.max_score)
                              .join(Score, Score.post_id == Post.id)).all()
    return {pid: (name, version, score) for pid, name, version, score in rows}


def test_reported_and_uncertain_posts_are_re_scored_and_each_score_names_its_model(api, cascade):
    api.posts(post_payload("calm", "lovely weather today"), post_payload("unsure", "maybe a jerk"),
              post_payload("clear", "you moron"))
    api.reports(report_payload("r1", "reported", reason="harassment", post=post_payload("reported", "hello there")))
    stored = scored_by()
    assert stored["calm"] == ("cheap", "cheap-v1", 0.02)
    assert stored["clear"] == ("cheap", "cheap-v1", 0.95)
    assert stored["unsure"] == ("strong", "strong-v1", 0.85)  # in the default band [0.3, 0.9)
    assert stored["reported"] == ("strong", "strong-v1", 0.1)
    assert sorted(cascade.strong.seen) == ["hello there", "maybe a jerk"]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "post_scored")).all()
    assert {e.payload["model"] for e in events} == {"cheap", "strong"}


def test_the_band_comes_from_the_policy(api, cascade):
    publish_policy({"cascade_band": {"low": 0.6, "high": 0.9}}, reason="narrower band", actor="test")
    db.session.commit()
    assert current_policy(fresh=True).cascade_band == (0.6, 0.9)
    api.posts(post_payload("unsure", "maybe a jerk"))
    assert scored_by()["unsure"][0] == "cheap"


@pytest.mark.parametrize("band", [{"low": 0.9, "high": 0.3}, {"low": -0.1, "high": 0.5}, {"low": 0.2}])
def test_a_bad_band_is_refused(app, band):
    with pytest.raises(PolicyError, match="cascade_band"):
        publish_policy({"cascade_band": band}, reason="bad", actor="test")
