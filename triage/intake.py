"""Intake and scoring: store the network's batches of posts and reports idempotently and
all-or-nothing, then score the posts with the configured model and open cases for those that need review.

classifiers is imported inside the functions that score: it loads scikit-learn (and, for some scorers,
torch), which the web processes that import this module for its constants never need."""
from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import Select, select, update
from sqlalchemy.orm.attributes import set_committed_value

import audit
from models import Account, Case, Post, Report, Score, db, utcnow
from models.sql import insert_ignore, upsert_filling
from network import RelationshipSource
from triage import cases, cluster_cases, clusters, follow_links, jobs, outbox, shadow, transaction
from triage.policy import PolicyInForce, current_policy
from triage.schemas import IntakeError, PostIn, ReportIn

SCORING_CHUNK = 100


@dataclass(frozen=True)
class IntakeCounts:
    """What a batch did: how many items came, how many were new, how many were repeats."""

    received: int
    created: int
    duplicates: int
    posts_created: int = 0

    def as_dict(self) -> dict[str, int]:
        """JSON-ready counts."""
        return asdict(self)


def content_hash(text: str) -> str:
    """SHA-256 of the text a juror reviews, so a later edit is detectable."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _post_row(post: PostIn, now) -> dict:
    return {
        "external_id": post.id, "author_id": post.author_id, "text": post.text,
        "lang": post.lang, "url": post.url, "created_at": post.created_at, "received_at": now,
        "state": "visible", "content_hash": content_hash(post.text), "score_requested_at": now,
    }


def _store_posts(posts: list[PostIn], cluster: bool = False) -> list[int]:
    """Insert new posts (first occurrence of each id wins) and their authors' accounts; return the new
    posts' ids. `cluster`: put them in their near-duplicate clusters now (a post a report carries, so
    its case joins its cluster's); other posts are clustered by the scoring job."""
    _store_authors(posts)
    now = utcnow()
    unique: dict[str, PostIn] = {}
    for post in posts:
        unique.setdefault(post.id, post)
    rows = [_post_row(p, now) for p in unique.values()]
    policy = current_policy()
    if rows and cluster and policy.clustering:
        return clusters.store_posts(rows, policy.cluster_similarity, _insert_posts)
    return _insert_posts(rows)


def _insert_posts(rows: list[dict]) -> list[int]:
    """Insert post rows, skipping ids already stored; return the new posts' ids."""
    return insert_ignore(Post, rows, ("external_id",), Post.id)


def _store_authors(posts: list[PostIn]) -> None:
    """An account for each author not seen before; a handle or display name sent now fills or updates it.

    Within a batch the last handle (and display name) sent for an author wins, as it would across
    batches. Sorted by id, so two batches that share authors lock their rows in the same order.
    """
    now = utcnow()
    authors: dict[str, dict] = {}
    for post in posts:
        row = authors.setdefault(post.author_id, {
            "external_id": post.author_id, "handle": None, "display_name": None, "state": "active",
            "created_at": now, "updated_at": now})
        row["handle"] = post.author_handle or row["handle"]
        row["display_name"] = post.author_display_name or row["display_name"]
    upsert_filling(Account, [authors[key] for key in sorted(authors)], ("external_id",),
                   fill_columns=("handle", "display_name"), touch_columns=("updated_at",))


def _hold_carried_copies(post_ids: list[int]) -> None:
    """Hide a reported post that copies a removed cluster as it arrives (the scoring job does this for
    the posts it clusters)."""
    policy = current_policy()
    if post_ids and policy.clustering:
        cluster_cases.hold_later_copies(db.session.scalars(select(Post).where(Post.id.in_(post_ids))).all(),
                                        policy, actor="network")


def _defer_scoring(post_ids: list[int]) -> None:
    """Have the new posts scored: by the scoring job already waiting to start, or a new one."""
    if post_ids:
        jobs.defer_coalesced("scoring", "triage.intake.score_waiting_job", key=jobs.SCORE_WAITING_KEY)


def ingest_posts(posts: list[PostIn], actor: str = "network") -> IntakeCounts:
    """Store a batch of posts and queue the new ones for scoring."""
    with transaction.atomic():
        new_ids = _store_posts(posts)
        if new_ids:
            audit.record(db.session, "posts_received", "batch", new_ids[0], {
                "post_ids": new_ids, "received": len(posts)}, actor=actor)
        _defer_scoring(new_ids)
    return IntakeCounts(received=len(posts), created=len(new_ids), duplicates=len(posts) - len(new_ids))


def ingest_reports(reports: list[ReportIn], actor: str = "network") -> IntakeCounts:
    """Store a batch of reports (and the posts they carry) and open or re-rank their cases."""
    with transaction.atomic():
        new_post_ids = _store_posts([r.post for r in reports if r.post is not None], cluster=True)
        _hold_carried_copies(new_post_ids)
        wanted = {r.post_id for r in reports}
        known = dict(db.session.execute(
            select(Post.external_id, Post.id).where(Post.external_id.in_(wanted))
        ).all())
        for index, report in enumerate(reports):
            if report.post_id not in known:
                raise IntakeError(f"reports[{index}].post_id",
                                  "unknown post: send it first or include it as 'post'")
        now = utcnow()
        unique: dict[str, ReportIn] = {}
        for report in reports:
            unique.setdefault(report.id, report)
        rows = [{
            "external_id": r.id, "post_id": known[r.post_id], "reporter_id": r.reporter_id,
            "reason": r.reason, "comment": r.comment, "received_at": now,
        } for r in unique.values()]
        new_report_ids = insert_ignore(Report, rows, ("external_id",), Report.id)
        reported_posts: list[int] = []
        if new_report_ids:
            reported_posts = list(db.session.scalars(
                select(Report.post_id).where(Report.id.in_(new_report_ids), cases.reporter_not_muted()).distinct()
            ))
            audit.record(db.session, "reports_received", "batch", new_report_ids[0], {
                "report_ids": new_report_ids, "post_ids": reported_posts}, actor=actor)
            cases.open_or_refresh(reported_posts, "reported", current_policy(), actor)
        _defer_scoring(new_post_ids)
    return IntakeCounts(received=len(reports), created=len(new_report_ids),
                        duplicates=len(reports) - len(new_report_ids), posts_created=len(new_post_ids))


# --- Scoring --------------------------------------------------------------------------------------


if TYPE_CHECKING:
    from classifiers import Scorer

_scorers: dict[tuple[str, str, str], Scorer] = {}
_scorers_lock = threading.Lock()
# Matches classifiers.text: longer texts are scored on their first part only.
SCORED_CHARS = 10_000

log = logging.getLogger(__name__)


def _current_version(model_dir: str) -> str:
    """What MODEL_DIR/CURRENT names, and when the calibration last changed: a retrained or
    recalibrated model is picked up by every worker at its next job."""
    root = Path(model_dir)
    versions = []
    for current in (root / "CURRENT", root / "encoder" / "CURRENT"):  # the encoder model's, for SCORER=encoder
        try:
            versions.append(current.read_text().strip())
        except OSError:
            versions.append("")
    version = ",".join(versions)
    try:
        calibrated = str((root / "calibration.json").stat().st_mtime_ns)
    except OSError:
        calibrated = ""
    return f"{version}/{calibrated}"


def forget_scorers() -> None:
    """Drop loaded models so the next job loads the current one."""
    with _scorers_lock:
        _scorers.clear()


def get_scorer() -> Scorer:
    """The configured scorer, loaded once per process and model version (models are large to load);
    a scorer object an embedding program put in `app.extensions["jury_scorer"]` instead (a simulation's
    generated scores)."""
    stand_in = current_app.extensions.get("jury_scorer")
    if stand_in is not None:
        return stand_in
    # Imported here: web processes only name scoring jobs and need not load scikit-learn.
    from classifiers import load_scorer

    model_dir = current_app.config["MODEL_DIR"]
    key = (current_app.config["SCORER"], model_dir, _current_version(model_dir))
    with _scorers_lock:
        if key not in _scorers:
            _scorers.clear()
            _scorers[key] = load_scorer(key[0], key[1])
        return _scorers[key]


def crossed(labels: dict[str, float], thresholds: dict[str, float]) -> list[str]:
    """Labels whose probability reaches the policy's threshold."""
    return sorted(label for label, cut in thresholds.items() if float(labels.get(label, 0.0)) >= float(cut))


# The coalesced job's name for its queued mark, and how much it takes at a time: a batch costs
# about 25 ms whatever its size plus under a millisecond a post, so batches of 20 (one intake
# request each) spent most of the scoring workers' time on the fixed part.
WAITING_JOB = jobs.SCORE_WAITING_KEY
WAITING_BATCH = 200
WAITING_MAX_BATCHES = 50


def _unscored(condition) -> Select:
    """The query for unscored posts matching `condition`, locking them; on PostgreSQL it skips those
    another job holds."""
    statement = select(Post).where(condition, Post.scored_at.is_(None)).order_by(Post.id)
    if db.session.get_bind().dialect.name == "postgresql":
        # Two scoring jobs at once split the posts between them instead of scoring some twice. NO KEY
        # UPDATE, not UPDATE: a report batch inserting a case for one of these posts takes a key-share
        # lock on it while holding its cluster's lock, which this job may be waiting for (a deadlock).
        statement = statement.with_for_update(skip_locked=True, key_share=True)
    return statement


def score_posts(post_ids: Iterable[int]) -> int:
    """Score the given posts that are still unscored; return how many were scored."""
    with transaction.atomic(durable=True):
        posts = db.session.scalars(_unscored(Post.id.in_(list(post_ids)))).all()
        return _score(posts)


def score_waiting_job() -> int:
    """The coalesced scoring job (see jobs.defer_coalesced): every post waiting to be scored, in batches."""
    # While it lingers its mark still stands, so the posts arriving meanwhile join this job.
    jobs.linger(current_app.config["SCORING_LINGER_SECONDS"])
    jobs.take_coalesced(WAITING_JOB)
    return score_waiting()


def score_waiting() -> int:
    """Score every post waiting for it, WAITING_BATCH at a time; return how many were scored.

    Waiting means requested in the last JOB_LOST_AFTER: older requests are the sweeper's, which
    queues them by id (as it does for any lost job). A batch that fails is handed to it at once,
    so one bad post cannot stall every later batch.
    """
    total = 0
    for _ in range(WAITING_MAX_BATCHES):
        since = utcnow() - jobs.lost_after()
        # Locked (see _unscored) until the batch's transaction ends.
        posts = db.session.scalars(_unscored(Post.score_requested_at > since).limit(WAITING_BATCH)).all()
        if not posts:
            return total
        ids = [post.id for post in posts]
        try:
            with transaction.atomic(durable=True):
                total += _score(posts)
        except Exception:
            log.exception("scoring %d waiting posts failed; the sweeper retries them by id", len(ids))
            with transaction.atomic(durable=True):
                db.session.execute(update(Post).where(Post.id.in_(ids)).values(score_requested_at=since),
                                   execution_options={"synchronize_session": False})
    # Stopped by the bound with more perhaps waiting: the next job goes on.
    with transaction.atomic(durable=True):
        jobs.defer_coalesced("scoring", "triage.intake.score_waiting_job", key=WAITING_JOB)
    return total


def _score(posts: list[Post]) -> int:
    """Score these (locked, unscored) posts and open their cases (caller's transaction); return how many."""
    if not posts:
        return 0
    from classifiers.language import detect_language

    detected = {}
    for post in posts:
        if not post.lang:
            # The network did not say: detect it, so routing and juror language filters can use it.
            post.lang = detected[post.id] = detect_language(post.text)
    reported = set(db.session.scalars(
        select(Report.post_id).where(Report.post_id.in_([p.id for p in posts]), cases.reporter_not_muted()).distinct()
    ))
    policy = current_policy()
    results, makers = _run_scorer(get_scorer(), posts, reported, policy)
    now = utcnow()
    insert_ignore(Score, [{
        "post_id": post.id, "model_name": maker.name, "model_version": maker.version,
        "labels": labels, "max_score": max(labels.values(), default=0.0),
        "text_truncated": len(post.text) > SCORED_CHARS, "scored_at": now,
    } for post, labels, maker in zip(posts, results, makers, strict=True)], ("post_id", "model_name", "model_version"),
        None)
    # One statement for the batch; the ORM would flush an UPDATE per post.
    db.session.execute(update(Post).where(Post.id.in_([post.id for post in posts])).values(scored_at=now),
                       execution_options={"synchronize_session": False})
    for post in posts:
        set_committed_value(post, "scored_at", now)
    held: set[int] = set()
    if policy.clustering:
        clusters.assign(posts, policy.cluster_similarity)
        held = cluster_cases.hold_later_copies(posts, policy)
    _triage(posts, results, policy, makers, detected, reported, held)
    _cache_follow_links(posts)
    return len(posts)


def _run_scorer(scorer: Scorer, posts: list[Post], reported: set[int],
                policy: PolicyInForce) -> tuple[list[dict[str, float]], list[Scorer]]:
    """Each post's scores and the model that made them. A cascade re-scores reported posts and those in
    the policy's uncertain band with its strong model; any other scorer scores every post itself."""
    texts = [post.text for post in posts]
    if hasattr(scorer, "score_routed"):
        routed = scorer.score_routed(texts, force=[post.id in reported for post in posts], band=policy.cascade_band)
        return [labels for labels, _ in routed], [maker for _, maker in routed]
    return scorer.score(texts), [scorer] * len(posts)


def _cache_follow_links(posts: list[Post]) -> None:
    """Cache the authors' follow links for fair panels; a network that cannot answer is asked later."""
    try:
        adapter = outbox.network_adapter()
        if not isinstance(adapter, RelationshipSource):
            return  # a network that cannot tell (the webhook contract): no query, nothing to cache
        with_case = set(db.session.scalars(select(Case.post_id).where(Case.post_id.in_([p.id for p in posts]))))
        follow_links.refresh_authors((post.author_id for post in posts if post.id in with_case), adapter)
    except Exception:  # scoring must never fail for this
        log.exception("could not cache follow links")


def _triage(posts: list[Post], results: list[dict[str, float]], policy: PolicyInForce, makers: list[Scorer],
            detected: dict[int, str | None], reported: set[int], held: set[int]) -> None:
    """Open cases for flagged or reported posts and hide the gravest in the interim (`held`: later
    copies of a removed cluster, hidden already)."""
    flagged: dict[int, list[str]] = {}
    to_hide: dict[int, list[str]] = {}
    events = []
    for post, labels, maker in zip(posts, results, makers, strict=True):
        flags = crossed(labels, policy.settings["auto_flag"])
        hides = crossed(labels, policy.settings["interim_hide"])
        events.append(audit.EventSpec("post_scored", "post", post.id, {
            "model": maker.name, "version": maker.version,
            "labels": {k: round(float(v), 4) for k, v in labels.items()}, "auto_flag": flags,
            "lang": post.lang, "lang_detected": post.id in detected,
        }, "system"))
        if flags or post.id in reported:
            flagged[post.id] = flags
        if hides:
            to_hide[post.id] = hides
    audit.record_many(db.session, events)
    # Candidate policies in shadow mode see the same scores and record what they would do; they never act.
    shadow.evaluate(posts, results, reported, flagged, to_hide)
    labels_by_post = {post.id: labels for post, labels in zip(posts, results, strict=True)}
    open_cases = cases.open_or_refresh(flagged, "auto_flagged", policy, "system", labels=labels_by_post)
    by_post = {case.post_id: case for case in open_cases}
    # A copy that went to its cluster's case is hidden (if it must be) on that case.
    by_cluster = {case.cluster_id: case for case in open_cases if case.cluster_id is not None
                  and case.origin not in (cluster_cases.MEMBER, cluster_cases.CONFIRM)}
    for post in posts:
        if post.id in held:
            continue
        case = by_post.get(post.id) or by_cluster.get(post.cluster_id)
        # A case in the critical lane was hidden as it joined it (triage.critical).
        if case is not None and post.id in to_hide and post.state == "visible" and case.critical_at is None:
            _hide_pending_review(post, case, to_hide[post.id])


def _hide_pending_review(post: Post, case: Case, labels: list[str]) -> None:
    """Ask the network to hide a post until the jury decides."""
    statement = ("Hidden pending review by a volunteer jury: an automated model rated it "
                 f"over the interim-hide threshold for {', '.join(labels)}.")
    outbox.create_actions(case, post, [outbox.ActionSpec("hide_post", post.author_id, statement)], actor="system")
