"""How much jurors agree: Krippendorff's alpha (nominal) per rule and per ISO week, and each
juror's agreement with the verdicts.

Alpha is computed by the `krippendorff` package from each decided case's counts of remove and
keep votes; cases with fewer than two votes carry no pairs and are left out. A case's rule is the
rule of its verdict when removed, otherwise the rule its reports named most (kept cases without a
report count under "unreported"). Alpha is None where it is undefined (no pairs, or every vote the
same so there is no disagreement to expect).
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select

from models import Case, Report, Verdict, Vote, db
from models.rules import RULE_CODES

UNREPORTED = "unreported"


@dataclass(frozen=True)
class AlphaRow:
    """Alpha over one group of decided cases."""

    group: str
    alpha: float | None
    cases: int
    votes: int


@dataclass(frozen=True)
class JurorAgreement:
    """How often one juror's votes matched the verdict on decided cases."""

    juror_id: int
    votes: int
    agreed: int

    @property
    def rate(self) -> float | None:
        """Share of votes that matched the verdict (None without any)."""
        return self.agreed / self.votes if self.votes else None


def nominal_alpha(counts: list[tuple[int, int]]) -> float | None:
    """Krippendorff's alpha for units given as (remove votes, keep votes); None where undefined."""
    import krippendorff

    units = np.array([c for c in counts if sum(c) >= 2], dtype=float)
    if len(units) == 0 or units.sum(axis=0).min() == 0:
        return None
    value = float(krippendorff.alpha(value_counts=units, level_of_measurement="nominal"))
    return value if math.isfinite(value) else None


def iso_week(moment: datetime) -> str:
    """ISO week label, e.g. 2026-W47."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _decided_cases(since: datetime | None = None):
    """(case id, outcome, rule, decided_at) of every verdict, optionally since a moment."""
    statement = select(Verdict.case_id, Verdict.outcome, Verdict.rule, Verdict.decided_at)
    if since is not None:
        statement = statement.where(Verdict.decided_at >= since)
    return db.session.execute(statement).all()


def _vote_counts(case_ids: list[int]) -> dict[int, list[int]]:
    """Case id -> [remove votes, keep votes]."""
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for start in range(0, len(case_ids), 5000):
        chunk = case_ids[start:start + 5000]
        for case_id, decision in db.session.execute(
            select(Vote.case_id, Vote.decision).where(Vote.case_id.in_(chunk))
        ):
            counts[case_id][0 if decision == "remove" else 1] += 1
    return counts


def _reported_rules(case_ids: list[int]) -> dict[int, str]:
    """Case id -> the rule its reports named most (ties to the earlier rule in the list)."""
    named: dict[int, Counter] = defaultdict(Counter)
    for start in range(0, len(case_ids), 5000):
        chunk = case_ids[start:start + 5000]
        for case_id, reason in db.session.execute(
            select(Case.id, Report.reason).join(Report, Report.post_id == Case.post_id).where(Case.id.in_(chunk))
        ):
            if reason in RULE_CODES:
                named[case_id][reason] += 1
    order = {code: i for i, code in enumerate(RULE_CODES)}
    return {case_id: min(counter, key=lambda code: (-counter[code], order[code]))
            for case_id, counter in named.items() if counter}


def _table(groups: dict[str, list[int]], counts: dict[int, list[int]]) -> list[AlphaRow]:
    """One AlphaRow per group, in the groups' order."""
    rows = []
    for group, case_ids in groups.items():
        units = [tuple(counts[c]) for c in case_ids if sum(counts.get(c, (0, 0))) >= 2]
        rows.append(AlphaRow(group, nominal_alpha(units), len(units), sum(sum(u) for u in units)))
    return rows


def alpha_by_rule(since: datetime | None = None) -> list[AlphaRow]:
    """Alpha per rule (the verdict's, else the reports'), plus an "all" row first."""
    decided = _decided_cases(since)
    ids = [row.case_id for row in decided]
    counts = _vote_counts(ids)
    reported = _reported_rules(ids)
    groups: dict[str, list[int]] = {"all": ids}
    for row in decided:
        rule = row.rule if row.outcome == "remove" and row.rule else reported.get(row.case_id, UNREPORTED)
        groups.setdefault(rule, []).append(row.case_id)
    order = {code: i for i, code in enumerate(("all",) + RULE_CODES + (UNREPORTED,))}
    return sorted(_table(groups, counts), key=lambda r: order.get(r.group, 99))


def alpha_by_week(since: datetime | None = None) -> list[AlphaRow]:
    """Alpha per ISO week of the verdict, oldest first."""
    decided = _decided_cases(since)
    counts = _vote_counts([row.case_id for row in decided])
    groups: dict[str, list[int]] = defaultdict(list)
    for row in decided:
        groups[iso_week(row.decided_at)].append(row.case_id)
    return _table(dict(sorted(groups.items())), counts)


def juror_agreement(juror_ids: list[int] | None = None) -> list[JurorAgreement]:
    """Each juror's votes on decided cases and how many matched the verdict, most votes first."""
    statement = select(Vote.juror_id, Vote.decision, Verdict.outcome).join(Verdict, Verdict.case_id == Vote.case_id)
    if juror_ids is not None:
        statement = statement.where(Vote.juror_id.in_(juror_ids))
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for juror_id, decision, outcome in db.session.execute(statement):
        totals[juror_id][0] += 1
        totals[juror_id][1] += int(decision == outcome)
    rows = [JurorAgreement(juror_id, votes, agreed) for juror_id, (votes, agreed) in totals.items()]
    return sorted(rows, key=lambda r: (-r.votes, r.juror_id))


def agreement_of(juror_id: int) -> JurorAgreement:
    """One juror's agreement with the verdicts (for their own stats panel)."""
    rows = juror_agreement([juror_id])
    return rows[0] if rows else JurorAgreement(juror_id, 0, 0)
