"""Retrain the site's scikit-learn model from the jury's own verdicts, so it learns this network's norms.

classifiers is imported inside the functions that train or calibrate: it loads scikit-learn, which
the web processes that import this module to check whether retraining is due never need."""
from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

import audit
from models import Case, Post, Verdict, db
from triage import intake, jobs, transaction

log = logging.getLogger(__name__)

SITE_MODEL_NAME = "sklearn-site"
SEED_MODEL_NAME = "sklearn-seed"
RETRAIN_JOB = "retrain-model"  # at most one automatic retraining queued at a time (jobs.defer_once)
# What a removal under each rule teaches each label. Spam, illegal and "other" removals say
# nothing about toxicity, so they are left out rather than taught as non-toxic.
RULE_LABELS = {
    "violence_threat": ("toxicity", "threat", "severe_toxicity"),
    "hate": ("toxicity", "identity_attack"),
    "harassment": ("toxicity", "insult"),
    "sexual": ("toxicity", "obscene"),
    "self_harm": ("toxicity",),
}
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Verdicts are few next to the seed corpus at first; repeating them lets them count.
VERDICT_WEIGHT = 3


def verdict_examples() -> tuple[list[str], list[dict[str, int]]]:
    """(texts, label rows) from decided cases, the latest verdict per post (an appeal's wins).

    Kept posts are negatives; a removal teaches its rule's labels; removals under rules that say
    nothing about toxicity (spam, illegal, other) are left out rather than taught as non-toxic.
    """
    from classifiers import LABELS

    latest: dict[int, tuple[str, str, str | None]] = {}
    for post_id, text, outcome, rule in db.session.execute(
        select(Post.id, Post.text, Verdict.outcome, Verdict.rule).join(Case, Case.id == Verdict.case_id)
        .join(Post, Post.id == Case.post_id).order_by(Post.id, Case.review_round, Verdict.decided_at, Verdict.id)
    ):
        latest[post_id] = (text, outcome, rule)
    texts, labels = [], []
    for text, outcome, rule in latest.values():
        if outcome == "remove" and rule not in RULE_LABELS:
            continue
        positive = RULE_LABELS.get(rule, ()) if outcome == "remove" else ()
        texts.append(text)
        labels.append({label: int(label in positive) for label in LABELS})
    return texts, labels


def verdict_count() -> int:
    """Verdicts decided so far."""
    return db.session.scalar(select(func.count()).select_from(Verdict)) or 0


def _current_metadata() -> dict:
    """The metadata of the model in use, from its small JSON file (this runs after every verdict)."""
    root = Path(current_app.config["MODEL_DIR"])
    try:
        version = (root / "CURRENT").read_text().strip()
        if not _VERSION_RE.match(version):
            return {}
        return json.loads((root / version / "metadata.json").read_text())
    except (OSError, ValueError):
        return {}


def _new_verdicts_at_least(needed: int, metadata: dict) -> bool:
    """Whether `needed` verdicts arrived after those the model in use (its `metadata`) was trained on.

    This runs after every verdict, so it counts at most `needed` rows past the model's last
    verdict id instead of counting the whole, ever-growing table.
    """
    metrics = metadata.get("metrics") or {}
    if "last_verdict_id" not in metrics and int(metrics.get("verdicts", 0)):
        # A site model trained before the id was recorded: compare the counts once more.
        return verdict_count() - int(metrics["verdicts"]) >= needed
    newer = select(Verdict.id).where(Verdict.id > int(metrics.get("last_verdict_id", 0))).limit(needed).subquery()
    return (db.session.scalar(select(func.count()).select_from(newer)) or 0) >= needed


def _old_enough(metadata: dict) -> bool:
    """Whether the model in use was trained at least RETRAIN_MIN_INTERVAL_MINUTES ago."""
    minutes = current_app.config["RETRAIN_MIN_INTERVAL_MINUTES"]
    if minutes <= 0:
        return True
    try:
        trained = datetime.fromisoformat(metadata["created_at"])
    except (KeyError, TypeError, ValueError):
        return True  # no date to go by: the verdict count alone decides, as before the interval
    if trained.tzinfo is None:
        trained = trained.replace(tzinfo=UTC)
    return datetime.now(UTC) - trained >= timedelta(minutes=minutes)


def retraining_due() -> bool:
    """Whether enough verdicts arrived, and enough time passed, since the model in use was trained."""
    if current_app.config["SCORER"] not in ("sklearn", "cascade"):  # the cascade's cheap model is this one
        return False
    # A model a lead trained from a CSV is never replaced behind their back; they retrain by hand.
    metadata = _current_metadata()
    if metadata.get("name", SEED_MODEL_NAME) not in (SEED_MODEL_NAME, SITE_MODEL_NAME):
        return False
    # The clock first: it reads no table, and this runs after every verdict.
    return _old_enough(metadata) and _new_verdicts_at_least(current_app.config["RETRAIN_MIN_VERDICTS"], metadata)


def schedule_if_due() -> bool:
    """Queue a retraining job (after the commit) when enough new verdicts exist."""
    return retraining_due() and jobs.defer_once("training", "triage.training.retrain_job", False, key=RETRAIN_JOB)


def queue_retraining(force: bool) -> None:
    """Queue a retraining (then recalibration) on the training queue now (a lead's button, the CLI)."""
    with transaction.atomic():
        jobs.defer("training", "triage.training.retrain_job", force)


def retrain_job(force: bool = False) -> str | None:
    """The retraining job on the `training` queue: retrain, then let the next one be queued."""
    try:
        return retrain(force=force)
    finally:
        jobs.finished_once(RETRAIN_JOB)


def retrain(force: bool = False, actor: str = "system") -> str | None:
    """Train a new site model on the seed corpus plus the verdicts, make it current; returns its version."""
    from classifiers import SklearnScorer
    from classifiers.seed_corpus import seed_corpus
    if not force and not retraining_due():
        return None
    texts, rows = seed_corpus()
    # Read before the examples, so a verdict arriving meanwhile counts towards the next retraining.
    last_verdict_id = db.session.scalar(select(func.max(Verdict.id))) or 0
    verdict_texts, verdict_rows = verdict_examples()
    texts = list(texts) + verdict_texts * VERDICT_WEIGHT
    rows = list(rows) + verdict_rows * VERDICT_WEIGHT
    scorer = SklearnScorer.train(texts, rows, name=SITE_MODEL_NAME)
    model_dir = Path(current_app.config["MODEL_DIR"])
    scorer.save(model_dir, metrics={"verdicts": verdict_count(), "verdict_rows": len(verdict_rows),
                                    "last_verdict_id": last_verdict_id})
    intake.forget_scorers()
    with transaction.atomic():
        audit.record(db.session, "model_trained", "model", scorer.version,
                     {"name": scorer.name, "verdict_rows": len(verdict_rows), "rows": len(texts)}, actor=actor)
    log.info("trained %s %s on %d verdicts", scorer.name, scorer.version, len(verdict_rows))
    calibrate(actor=actor)
    return scorer.version


def calibrate(actor: str = "system") -> str | None:
    """Fit the configured scorer's per-label calibration on the verdicts; returns its version, or None.

    With the sklearn scorer the verdicts are also its training data, so this calibration is
    in-sample and somewhat optimistic; it still corrects the seed model's over- or under-confidence.
    """
    from classifiers import LABELS, load_raw_scorer
    from classifiers.calibration import MIN_EXAMPLES, fit_calibration
    texts, rows = verdict_examples()
    if len(texts) < MIN_EXAMPLES:
        return None
    config = current_app.config
    scorer = load_raw_scorer(config["SCORER"], config["MODEL_DIR"])
    calibration = fit_calibration(f"{scorer.name}:{scorer.version}", scorer.score(texts), rows, LABELS,
                                  min_examples=MIN_EXAMPLES)
    calibration.save(config["MODEL_DIR"])
    intake.forget_scorers()
    with transaction.atomic():
        audit.record(db.session, "model_calibrated", "model", calibration.version,
                     {"scorer": calibration.scorer, "examples": calibration.examples,
                      "labels": sorted(calibration.maps)}, actor=actor)
    return calibration.version
