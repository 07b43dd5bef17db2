"""What the verdicts say of a reporter, and how much a report of theirs weighs in a case's priority.

A reporter's record is the reports they made, how many of those posts have a first-instance verdict,
and how many of those verdicts removed the post (an appeal that overturned a removal takes it back).
Discourse weighs a flag by its flagger's accuracy; here the policy weight
``priority_weights.reporter_accuracy`` (0 to 1, 0 by default: every reporter counts as one) does
the same for the priority. At weight ``w`` a reporter counts ``(1 - w) + w * c``, where ``c`` is
the reporter's credibility: the upheld share with one upheld and one rejected report assumed
(``(upheld + 1) / (decided + 2)``), so a newcomer counts ``1 - w / 2`` and two unlucky reports do
not silence anyone. Muted reporters count for nothing, whatever the weight (``triage.cases``).

Read-only: runs inside the caller's transaction or none.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import exists, func, select

from models import Appeal, Case, Post, Report, Verdict, db

# Verdicts that judge a post in the first instance (an appeal's or a gold case's are not removals).
FIRST_INSTANCE = ("reported", "auto_flagged")
# Reporter ids per query: a post with thousands of reporters is read in slices.
CHUNK = 500


def removals(column):
    """`column` of the first-instance removal verdicts that no appeal overturned (joined to case and post)."""
    overturned = exists().where(Appeal.verdict_id == Verdict.id, Appeal.state == "overturned")
    return (select(column).select_from(Verdict).join(Case, Case.id == Verdict.case_id)
            .join(Post, Post.id == Case.post_id)
            .where(Verdict.outcome == "remove", Case.origin.in_(FIRST_INSTANCE), ~overturned))


@dataclass(frozen=True)
class Record:
    """A reporter's reports, those whose post has a first-instance verdict, and those it upheld."""

    reports: int = 0
    decided: int = 0
    upheld: int = 0

    @property
    def upheld_share(self) -> float | None:
        """Upheld reports among the decided ones (None before any is decided)."""
        return self.upheld / self.decided if self.decided else None

    @property
    def credibility(self) -> float:
        """The upheld share, drawn towards one half while there are few decided reports."""
        return (self.upheld + 1) / (self.decided + 2)

    def weight(self, accuracy_weight: float) -> float:
        """What one report of this reporter counts in a priority, at the policy's weight (0 to 1)."""
        return (1.0 - accuracy_weight) + accuracy_weight * self.credibility


def records(reporter_ids: Iterable[str]) -> dict[str, Record]:
    """The record of each reporter (one grouped query per CHUNK ids); a reporter with no report has none."""
    ids = sorted(set(reporter_ids))
    decided = exists().where(Case.post_id == Report.post_id, Case.origin.in_(FIRST_INSTANCE),
                             Verdict.case_id == Case.id)
    upheld = Report.post_id.in_(removals(Post.id))
    found: dict[str, Record] = {}
    for start in range(0, len(ids), CHUNK):
        rows = db.session.execute(
            select(Report.reporter_id, func.count(Report.id), func.count(Report.id).filter(decided),
                   func.count(Report.id).filter(upheld))
            .where(Report.reporter_id.in_(ids[start:start + CHUNK])).group_by(Report.reporter_id))
        found.update({reporter: Record(made, judged, kept) for reporter, made, judged, kept in rows})
    return found


def record(reporter_id: str) -> Record:
    """One reporter's record (zeros for an id that never reported)."""
    return records([reporter_id]).get(reporter_id, Record())


def weighted_reporters(reporter_ids: Iterable[str], accuracy_weight: float,
                       known: dict[str, Record] | None = None) -> float:
    """How many reporters the priority counts: one each at weight 0, by credibility above it."""
    ids = set(reporter_ids)
    if accuracy_weight <= 0:
        return float(len(ids))
    known = records(ids) if known is None else known
    return sum(known.get(reporter, Record()).weight(accuracy_weight) for reporter in ids)
