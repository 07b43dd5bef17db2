"""Reliability-weighted verdicts: stored juror matrices, each case's posterior, and full re-estimation.

Each vote computes its case's posterior from the stored matrices and the model-score prior
(a few rows read, no EM), so "updated as votes arrive" stays cheap; the full Dawid–Skene EM over
every vote, gold answer and lead decision runs as a job the sweeper queues every
`reestimate_every_verdicts` new verdicts, and rewrites the stored matrices.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select

import audit
from jury.panels import dawid_skene as ds
from jury.panels import vote_value
from models import Case, GoldAnswer, JurorReliability, ReliabilityRun, Score, User, Verdict, Vote, db, utcnow
from triage import jobs, transaction

log = logging.getLogger(__name__)
REESTIMATE_JOB = "reestimate-reliability"  # at most one queued at a time (jobs.defer_once)


@dataclass(frozen=True)
class CasePosterior:
    """A case's P(violates) and every term behind it."""

    posterior: float
    prior: float
    weights: dict

    @property
    def keep_posterior(self) -> float:
        """P(keeps)."""
        return 1.0 - self.posterior


def pseudonym(juror_id: int) -> str:
    """A stable pseudonymous juror id for leads' pages (an HMAC of the id, not reversible without the key)."""
    key = current_app.config["SECRET_KEY"].encode()
    return "J-" + hmac.new(key, f"juror:{juror_id}".encode(), hashlib.sha256).hexdigest()[:8]


def known_labels(session) -> dict[int, int]:
    """Case id -> 1 (violates) / 0 (keeps) for gold cases, whose answers are fixed in EM.

    Votes on a gold case are ordinary votes on the gold case's id; a retired gold case's
    answer is still right, so it still counts.
    """
    rows = session.execute(select(GoldAnswer.case_id, GoldAnswer.outcome)).all()
    return {case_id: int(outcome == "remove") for case_id, outcome in rows}


def lead_labels(session) -> dict[int, int]:
    """Cases a lead decided after the panel split: the closest thing to ground truth besides gold."""
    rows = session.execute(select(Verdict.case_id, Verdict.outcome).where(Verdict.method == "lead")).all()
    return {case_id: int(outcome == "remove") for case_id, outcome in rows}


def case_features(case_ids: Iterable[int]) -> tuple[dict[int, float], dict[int, int]]:
    """Case id -> the latest model score of its post on the log-odds scale (the prior's feature), and
    case id -> its calibration group: REPORTED when users reported the post, else FLAGGED (one query
    per 5,000 cases: it runs on every vote)."""
    ids = list(case_ids)
    features: dict[int, float] = {}
    groups: dict[int, int] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        rows = db.session.execute(
            select(Case.id, Case.report_count, Score.max_score).outerjoin(Score, Score.post_id == Case.post_id)
            .where(Case.id.in_(chunk)).order_by(Score.scored_at, Score.id)
        ).all()
        for case_id, reports, score in rows:  # later scores overwrite earlier ones
            groups[case_id] = ds.REPORTED if reports else ds.FLAGGED
            if score is not None:
                features[case_id] = ds.score_feature(score)
    return features, groups


def current_calibrations() -> dict[int, ds.Calibration]:
    """The model-score priors of the latest re-estimation, per group (the base rate 1/2 before any)."""
    run = db.session.scalar(select(ReliabilityRun).order_by(ReliabilityRun.id.desc()).limit(1))
    if run is None:
        return {ds.FLAGGED: ds.Calibration(), ds.REPORTED: ds.Calibration()}
    flagged = ds.Calibration(run.prior_intercept, run.prior_slope)
    reported = flagged if run.prior_reported_intercept is None else ds.Calibration(
        run.prior_reported_intercept, run.prior_reported_slope or 0.0)
    return {ds.FLAGGED: flagged, ds.REPORTED: reported}


def matrices(juror_ids: Iterable[int]) -> dict[int, ds.JurorMatrix]:
    """Stored matrices of these jurors; a juror never estimated gets the prior one."""
    ids = list(set(juror_ids))
    stored = {row.juror_id: ds.JurorMatrix(row.sensitivity, row.specificity, row.votes)
              for row in db.session.scalars(select(JurorReliability).where(JurorReliability.juror_id.in_(ids)))}
    return {juror_id: stored.get(juror_id, ds.JurorMatrix()) for juror_id in ids}


_CASE_VOTES = (select(Vote.juror_id, Vote.decision, Vote.rule).where(Vote.case_id == bindparam("case_id"))
               .order_by(Vote.id))


def case_votes(case: Case) -> list[tuple[int, str, str | None]]:
    """(juror id, decision, rule) of each vote on the case, in the order cast (read on every vote)."""
    return [tuple(row) for row in db.session.execute(_CASE_VOTES, {"case_id": case.id})]


def case_posterior(case: Case, votes: list[tuple[int, str, str | None]] | None = None) -> CasePosterior:
    """The case's posterior from its votes so far (case_votes, read here if not given), the stored
    matrices and the model prior."""
    votes = [(juror, decision) for juror, decision, _ in (case_votes(case) if votes is None else votes)]
    by_juror = matrices(juror for juror, _ in votes)
    features, groups = case_features([case.id])
    feature, group = features.get(case.id), groups.get(case.id, ds.FLAGGED)
    prior_log_odds = current_calibrations()[group].log_odds(feature)
    terms = [(pseudonym(juror), by_juror[juror], int(decision == "remove")) for juror, decision in votes]
    weights = ds.explain(prior_log_odds, terms)
    weights["model_feature"] = None if feature is None else round(feature, 4)
    weights["calibration"] = "reported" if group == ds.REPORTED else "flagged"
    return CasePosterior(weights["posterior"], weights["prior"], weights)


_PLANS = "jury.panel_plans"
_POOL_STATE = select(func.count(), func.max(JurorReliability.estimated_at)).select_from(JurorReliability)


def panel_plans(policy_version: int, vote_cost: float, lead_cost: float, min_votes: int,
                max_votes: int) -> tuple[vote_value.Plan, vote_value.Plan]:
    """The stopping plans (with a lead to call, and without) for the active jurors' stored matrices.

    Built once per re-estimation, policy version and vote cost in each process: the plan only changes
    when the matrices or the settings do. A flood's higher vote cost (triage.flood) is a second entry,
    so a queue that goes in and out of flood does not rebuild either. Each juror weighs by the votes
    behind their estimate (at least one), since the next seat goes to whoever asks, and busy jurors
    ask more often.
    """
    pool_state = tuple(db.session.execute(_POOL_STATE).one())
    key = (policy_version, vote_cost, lead_cost, min_votes, max_votes, *pool_state)
    cache = current_app.extensions.setdefault(_PLANS, {})
    if key not in cache:
        if any(old[5:] != pool_state or old[0] != policy_version for old in cache):
            cache.clear()  # new matrices or a new policy: the old plans are no use
        rows = db.session.execute(select(JurorReliability).join(User, User.id == JurorReliability.juror_id)
                                  .where(User.state == "active")).scalars()
        pool = vote_value.pool_of((ds.JurorMatrix(row.sensitivity, row.specificity, row.votes), max(row.votes, 1.0))
                                  for row in rows)
        cache[key] = tuple(vote_value.plan(pool, vote_cost=vote_cost, lead_cost=cost, min_votes=min_votes,
                                           max_votes=max_votes) for cost in (lead_cost, None))
    return cache[key]


def verdicts_since_last_run() -> int:
    """Verdicts recorded since the latest re-estimation counted them."""
    total = db.session.scalar(select(func.count()).select_from(Verdict)) or 0
    last = db.session.scalar(select(ReliabilityRun.verdicts).order_by(ReliabilityRun.id.desc()).limit(1)) or 0
    return total - last


def reestimation_due(every: int) -> bool:
    """Whether enough verdicts arrived, and REESTIMATE_MIN_INTERVAL_MINUTES passed, since the last
    full re-estimation.

    The run reads every vote ever cast: at a busy jury's pace the policy's count alone (50 verdicts
    by default) would come every few seconds and keep a worker re-estimating without pause.
    """
    minutes = current_app.config["REESTIMATE_MIN_INTERVAL_MINUTES"]
    last_at = db.session.scalar(select(ReliabilityRun.created_at).order_by(ReliabilityRun.id.desc()).limit(1))
    if minutes > 0 and last_at is not None and utcnow() - last_at < timedelta(minutes=minutes):
        return False
    return verdicts_since_last_run() >= every


def schedule_if_due(every: int) -> bool:
    """Queue the re-estimation job (after the commit) when it is due."""
    return reestimation_due(every) and jobs.defer_once("training", "jury.panels.juror_reliability.reestimate_job",
                                                       key=REESTIMATE_JOB)


def queue_reestimate() -> None:
    """Queue a full re-estimation now (a lead's button)."""
    with transaction.atomic():
        jobs.defer("training", "jury.panels.juror_reliability.reestimate_job")


def reestimate_job() -> int:
    """The re-estimation job on the `training` queue; the run's id."""
    try:
        return reestimate().id
    finally:
        jobs.finished_once(REESTIMATE_JOB)


def reestimate(actor: str = "system") -> ReliabilityRun:
    """Full EM over every vote, gold answer and lead decision; store each juror's matrix (commits)."""
    votes = db.session.execute(select(Vote.case_id, Vote.juror_id, Vote.decision)).all()
    known = {**lead_labels(db.session), **known_labels(db.session)}
    case_ids = {case_id for case_id, _, _ in votes} | set(known)
    features, groups = case_features(case_ids)
    estimate = ds.dawid_skene(((c, j, int(d == "remove")) for c, j, d in votes), known=known,
                              features=features, groups=groups, start=current_calibrations())
    flagged, reported = estimate.calibrations[ds.FLAGGED], estimate.calibrations[ds.REPORTED]
    run = ReliabilityRun(
        votes=len(votes), cases=len(case_ids), jurors=len(estimate.jurors), known=len(known),
        verdicts=db.session.scalar(select(func.count()).select_from(Verdict)) or 0,
        iterations=estimate.iterations, log_likelihood=estimate.log_likelihood if votes else 0.0,
        prior_intercept=flagged.intercept, prior_slope=flagged.slope,
        prior_reported_intercept=reported.intercept, prior_reported_slope=reported.slope,
    )
    with transaction.atomic():
        db.session.add(run)
        db.session.flush()
        existing = {row.juror_id: row for row in db.session.scalars(select(JurorReliability))}
        now = utcnow()
        for juror_id, matrix in estimate.jurors.items():
            row = existing.get(juror_id) or JurorReliability(juror_id=juror_id)
            row.sensitivity, row.specificity, row.votes = matrix.sensitivity, matrix.specificity, matrix.votes
            row.run_id, row.estimated_at = run.id, now
            db.session.add(row)
        audit.record(db.session, "reliability_estimated", "reliability_run", run.id, {
            "votes": run.votes, "cases": run.cases, "jurors": run.jurors, "known": run.known,
            "iterations": run.iterations, "converged": estimate.converged,
            "prior": {"intercept": round(flagged.intercept, 4), "slope": round(flagged.slope, 4)},
            "prior_reported": {"intercept": round(reported.intercept, 4), "slope": round(reported.slope, 4)},
        }, actor=actor)
    log.info("re-estimated %d jurors over %d votes in %d iterations", run.jurors, run.votes, run.iterations)
    return run
