"""Threshold tuning against the jury's verdicts: curves, confusion counts and a what-if replay."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from models import Assignment, Case, Post, Report, Score, Verdict, Vote, db, utcnow
from triage.cases import reporter_not_muted
from triage.policy import current_policy

CURVE_STEPS = 20  # thresholds 0.00, 0.05, … 1.00
MAX_DAYS = 90


@dataclass(frozen=True)
class ModelRef:
    """A model name and version with how many posts it scored."""

    name: str
    version: str
    posts: int

    @property
    def key(self) -> str:
        """"name:version", as forms carry it."""
        return f"{self.name}:{self.version}"


def models() -> list[ModelRef]:
    """Every model that scored posts here, most used first."""
    rows = db.session.execute(
        select(Score.model_name, Score.model_version, func.count())
        .group_by(Score.model_name, Score.model_version).order_by(func.count().desc())
    ).all()
    return [ModelRef(name, version, count) for name, version, count in rows]


def find_model(key: str | None) -> ModelRef | None:
    """The model named "name:version", or the most used one."""
    found = models()
    for ref in found:
        if ref.key == key:
            return ref
    return found[0] if found else None


def labels_of(model: ModelRef) -> list[str]:
    """The labels this model gives (read from one of its scores)."""
    labels = db.session.scalar(select(Score.labels).where(
        Score.model_name == model.name, Score.model_version == model.version).limit(1))
    return sorted(labels or {})


def default_label(labels: list[str], asked: str | None) -> str | None:
    """The label asked for when the model gives it, else toxicity, else the first; None without labels."""
    if asked in labels:
        return asked
    return "toxicity" if "toxicity" in labels else (labels[0] if labels else None)


def _labelled(model: ModelRef, label: str) -> list[tuple[float, bool]]:
    """(score, jury removed it) for every decided first-round case this model scored."""
    rows = db.session.execute(
        select(Score.labels, Verdict.outcome)
        .join(Case, Case.post_id == Score.post_id)
        .join(Verdict, Verdict.case_id == Case.id)
        .where(Score.model_name == model.name, Score.model_version == model.version, Case.review_round == 0)
    ).all()
    return [(float(labels.get(label, 0.0)), outcome == "remove") for labels, outcome in rows]


def _all_scores(model: ModelRef, label: str) -> list[float]:
    rows = db.session.scalars(select(Score.labels).where(
        Score.model_name == model.name, Score.model_version == model.version))
    return [float(labels.get(label, 0.0)) for labels in rows]


@dataclass(frozen=True)
class Confusion:
    """Counts at one threshold: flagged (score ≥ threshold) against the jury's removals."""

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int
    flag_rate: float | None  # share of every post this model scored that would be flagged

    @property
    def precision(self) -> float | None:
        """Of the flagged decided posts, the share the jury removed."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """Of the jury's removals, the share flagged."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def confusion_from(labelled: list[tuple[float, bool]], scores: list[float], threshold: float) -> Confusion:
    """Confusion counts at a threshold, from (score, removed) pairs and all scores."""
    tp = sum(1 for s, removed in labelled if removed and s >= threshold)
    fp = sum(1 for s, removed in labelled if not removed and s >= threshold)
    fn = sum(1 for s, removed in labelled if removed and s < threshold)
    tn = len(labelled) - tp - fp - fn
    rate = sum(1 for s in scores if s >= threshold) / len(scores) if scores else None
    return Confusion(threshold, tp, fp, fn, tn, rate)


def curves(model: ModelRef, label: str) -> list[Confusion]:
    """Confusion counts at each of CURVE_STEPS + 1 thresholds."""
    labelled, scores = _labelled(model, label), _all_scores(model, label)
    return [confusion_from(labelled, scores, step / CURVE_STEPS) for step in range(CURVE_STEPS + 1)]


def confusion(model: ModelRef, label: str, threshold: float) -> Confusion:
    """Confusion counts at one threshold."""
    return confusion_from(_labelled(model, label), _all_scores(model, label), threshold)


def seconds_per_vote(days: int = 30) -> float | None:
    """Median seconds from a seat being dealt to its vote, over the last `days` days."""
    since = utcnow() - timedelta(days=days)
    rows = db.session.execute(
        select(Assignment.leased_at, Vote.cast_at)
        .join(Vote, (Vote.case_id == Assignment.case_id) & (Vote.juror_id == Assignment.juror_id))
        .where(Vote.cast_at >= since)
    ).all()
    spans = [(cast - leased).total_seconds() for leased, cast in rows if cast >= leased]
    return float(statistics.median(spans)) if spans else None


def votes_per_verdict(days: int = 30) -> float | None:
    """Mean votes cast per verdict over the last `days` days (verdicts with no votes left out)."""
    since = utcnow() - timedelta(days=days)
    counts = db.session.scalars(
        select(func.count(Vote.id)).select_from(Verdict).join(Vote, Vote.case_id == Verdict.case_id)
        .where(Verdict.decided_at >= since).group_by(Verdict.id)
    ).all()
    return sum(counts) / len(counts) if counts else None


@dataclass(frozen=True)
class WhatIf:
    """What replaying the last days' posts under a candidate threshold gives, beside the policy in force."""

    label: str
    threshold: float
    current_threshold: float | None
    days: int
    posts: int
    cases_current: int
    cases_candidate: int
    seconds_per_vote: float
    votes_per_verdict: float
    measured: bool  # False when the two rates above are the policy's defaults, not measured
    removals: int  # jury removals among these posts
    missed_current: int
    missed_candidate: int

    @property
    def cases_per_day(self) -> float:
        """Cases a day the candidate would open."""
        return self.cases_candidate / self.days

    @property
    def cases_per_day_current(self) -> float:
        """Cases a day the policy in force opens on the same posts."""
        return self.cases_current / self.days

    @property
    def juror_hours_per_day(self) -> float:
        """Juror-hours a day the candidate's cases would take."""
        return self.cases_per_day * self.votes_per_verdict * self.seconds_per_vote / 3600

    @property
    def juror_hours_per_day_current(self) -> float:
        """Juror-hours a day under the policy in force."""
        return self.cases_per_day_current * self.votes_per_verdict * self.seconds_per_vote / 3600


DEFAULT_SECONDS_PER_VOTE = 60.0


def what_if(model: ModelRef, label: str, threshold: float, days: int) -> WhatIf:
    """Replay the posts received in the last `days` days that `model` scored under a candidate
    auto-flag threshold for `label` (other labels keep the policy's thresholds).

    A post opens a case when it was reported (by a reporter not muted) or a label reaches its
    threshold. A removal is missed when the jury removed the post but the replay opens no case.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError("threshold must be between 0 and 1")
    days = max(1, min(int(days), MAX_DAYS))
    policy = current_policy()
    current = {k: float(v) for k, v in policy.settings["auto_flag"].items()}
    candidate = dict(current, **{label: threshold})
    since = utcnow() - timedelta(days=days)
    rows = db.session.execute(
        select(Post.id, Score.labels).join(Score, Score.post_id == Post.id)
        .where(Post.received_at >= since, Score.model_name == model.name, Score.model_version == model.version)
    ).all()
    post_ids = [post_id for post_id, _ in rows]
    reported: set[int] = set()
    removed: set[int] = set()
    for start in range(0, len(post_ids), 500):
        chunk = post_ids[start:start + 500]
        reported.update(db.session.scalars(
            select(Report.post_id).where(Report.post_id.in_(chunk), reporter_not_muted()).distinct()))
        removed.update(db.session.scalars(
            select(Case.post_id).join(Verdict, Verdict.case_id == Case.id)
            .where(Case.post_id.in_(chunk), Verdict.outcome == "remove")))

    def opens(post_id: int, labels: dict, cuts: dict[str, float]) -> bool:
        return post_id in reported or any(float(labels.get(k, 0.0)) >= cut for k, cut in cuts.items())

    open_current = {p for p, labels in rows if opens(p, labels, current)}
    open_candidate = {p for p, labels in rows if opens(p, labels, candidate)}
    spv, vpv = seconds_per_vote(), votes_per_verdict()
    return WhatIf(
        label=label, threshold=threshold, current_threshold=current.get(label), days=days, posts=len(rows),
        cases_current=len(open_current), cases_candidate=len(open_candidate),
        seconds_per_vote=spv if spv is not None else DEFAULT_SECONDS_PER_VOTE,
        votes_per_verdict=vpv if vpv is not None else float(policy.panel_size),
        measured=spv is not None and vpv is not None,
        removals=len(removed), missed_current=len(removed - open_current),
        missed_candidate=len(removed - open_candidate),
    )
