"""Shadow mode: candidate policies score live traffic beside the real one and record, never act."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

import audit
from models import Case, Post, ShadowDecision, ShadowPolicy, Verdict, db, utcnow
from models.errors import Conflict, DomainError, NotFound
from models.sql import insert_ignore
from triage import transaction
from triage.policy import validate_settings

MAX_DAYS = 60
MAX_ACTIVE = 5  # each one adds a little work to every scoring job


def crossed(labels: Mapping[str, float], thresholds: Mapping[str, float]) -> bool:
    """Whether any label reaches its threshold."""
    return any(float(labels.get(label, 0.0)) >= float(cut) for label, cut in thresholds.items())


def active() -> list[ShadowPolicy]:
    """Shadow policies running now."""
    now = utcnow()
    return list(db.session.scalars(select(ShadowPolicy).where(
        ShadowPolicy.starts_at <= now, ShadowPolicy.ends_at > now, ShadowPolicy.stopped_at.is_(None)
    ).order_by(ShadowPolicy.id)))


def start(name: str, settings: Mapping[str, Any], *, days: int, reason: str, user_id: int | None) -> ShadowPolicy:
    """Run a candidate policy in shadow mode for `days` days from now, and commit."""
    if not reason.strip():
        raise DomainError("a shadow run needs a reason")
    if not 1 <= int(days) <= MAX_DAYS:
        raise DomainError(f"a shadow run lasts 1 to {MAX_DAYS} days")
    if len(active()) >= MAX_ACTIVE:
        raise Conflict(f"at most {MAX_ACTIVE} shadow policies run at once; stop one first")
    merged = validate_settings(dict(settings))
    now = utcnow()
    row = ShadowPolicy(name=(name.strip() or "candidate")[:80], settings=merged, reason=reason.strip()[:2000],
                       starts_at=now, ends_at=now + timedelta(days=int(days)), created_by_id=user_id)
    with transaction.atomic():
        db.session.add(row)
        db.session.flush()
        audit.record(db.session, "shadow_started", "shadow_policy", row.id, {
            "name": row.name, "days": int(days), "reason": row.reason,
            "auto_flag": merged["auto_flag"], "interim_hide": merged["interim_hide"]}, actor=f"user:{user_id}")
    return row


def stop(shadow_id: int, *, user_id: int | None) -> ShadowPolicy:
    """End a shadow run now, and commit."""
    row = db.session.get(ShadowPolicy, shadow_id)
    if row is None:
        raise NotFound("no such shadow policy")
    with transaction.atomic():
        changed = db.session.execute(update(ShadowPolicy).where(
            ShadowPolicy.id == shadow_id, ShadowPolicy.stopped_at.is_(None)).values(stopped_at=utcnow())).rowcount
        if changed:
            audit.record(db.session, "shadow_stopped", "shadow_policy", shadow_id, {}, actor=f"user:{user_id}")
    return row


def evaluate(posts: Sequence[Post], results: Sequence[Mapping[str, float]], reported: set[int],
             real_flagged: Mapping[int, Any], real_hidden: Mapping[int, Any]) -> int:
    """Record what each active shadow policy would do with freshly scored posts (caller commits)."""
    shadows = active()
    if not shadows:
        return 0
    now = utcnow()
    rows = []
    for shadow in shadows:
        flag_cuts, hide_cuts = shadow.settings.get("auto_flag", {}), shadow.settings.get("interim_hide", {})
        for post, labels in zip(posts, results, strict=True):
            would_flag = post.id in reported or crossed(labels, flag_cuts)
            rows.append({
                "shadow_id": shadow.id, "post_id": post.id, "would_flag": would_flag,
                # Hiding needs an open case, as in the real triage.
                "would_hide": would_flag and crossed(labels, hide_cuts),
                "real_flag": post.id in real_flagged,
                "real_hide": post.id in real_flagged and post.id in real_hidden,
                "created_at": now,
            })
    insert_ignore(ShadowDecision, rows, ("shadow_id", "post_id"), ShadowDecision.id)
    return len(rows)


@dataclass(frozen=True)
class ShadowReport:
    """How a shadow policy's decisions differ from the real ones so far."""

    shadow: ShadowPolicy
    posts: int
    real_flags: int
    shadow_flags: int
    only_real: int  # cases the real policy opened that the shadow would not have
    only_shadow: int  # cases the shadow would have opened that the real policy did not
    real_hides: int
    shadow_hides: int
    removals_missed: int  # jury removals among posts the shadow would not have sent to the jury

    @property
    def running(self) -> bool:
        """Whether it still records."""
        return self.shadow.stopped_at is None and self.shadow.ends_at > utcnow()


def report(shadow_id: int) -> ShadowReport:
    """The difference between a shadow policy and the real one on the posts it saw."""
    shadow = db.session.get(ShadowPolicy, shadow_id)
    if shadow is None:
        raise NotFound("no such shadow policy")
    d = ShadowDecision

    def count(*conditions) -> int:
        return db.session.scalar(select(func.count()).select_from(d).where(d.shadow_id == shadow_id, *conditions)) or 0

    missed = db.session.scalar(
        select(func.count()).select_from(d)
        .join(Case, (Case.post_id == d.post_id) & (Case.review_round == 0))
        .join(Verdict, Verdict.case_id == Case.id)
        .where(d.shadow_id == shadow_id, d.would_flag.is_(False), Verdict.outcome == "remove")
    ) or 0
    return ShadowReport(
        shadow=shadow, posts=count(), real_flags=count(d.real_flag.is_(True)),
        shadow_flags=count(d.would_flag.is_(True)),
        only_real=count(d.real_flag.is_(True), d.would_flag.is_(False)),
        only_shadow=count(d.real_flag.is_(False), d.would_flag.is_(True)),
        real_hides=count(d.real_hide.is_(True)), shadow_hides=count(d.would_hide.is_(True)),
        removals_missed=missed,
    )


def all_shadows(limit: int = 50) -> list[ShadowPolicy]:
    """Shadow policies, newest first."""
    return list(db.session.scalars(select(ShadowPolicy).order_by(ShadowPolicy.id.desc()).limit(limit)))
