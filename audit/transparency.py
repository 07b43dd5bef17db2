"""The DSA Art. 15 transparency summary for a period, as JSON and CSV."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from audit.exports import csv_cell
from audit.figures import compute
from models.rules import RULES_BY_CODE

AUTOMATION = {
    "purposes": "A toxicity model scores every post to open cases without a report, to order the review queue and "
                "to hide the gravest posts until the jury decides. It never decides a case.",
    "safeguards": "Every decision is taken by a panel of volunteer jurors voting blind, or by a lead when a panel "
                  "splits; a near-copy of a decided post (matched on its normalised text) gets that decision as "
                  "its own, with its own statement and appeal, and a share of them is checked by a juror; appeals "
                  "go to a fresh, larger panel and a lead signs off every reversal.",
}


def _category(code: str) -> str:
    rule = RULES_BY_CODE.get(code)
    return rule.dsa_category if rule else "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"


def summary(session: Session, start: datetime, end: datetime, *, scorer: str = "sklearn") -> dict[str, Any]:
    """The Art. 15(1) counts this service can speak to, for [start, end)."""
    f = compute(session, start, end, scorer=scorer)
    notices_by_category = Counter()
    for reason, n in f.reports_by_reason.items():
        notices_by_category[_category(reason)] += n
    legal = f.removals_by_rule.get("illegal", 0)
    auto_removed = f.removals_by_detection.get("automated detection", 0)
    flagged_precision = (auto_removed / f.cases_auto_flagged) if f.cases_auto_flagged else None
    return {
        "period": {"from": f.start.isoformat(), "to": f.end.isoformat()},
        "audit_head": {"event": f.audit_head_event, "hash": f.audit_head_hash, "intact": f.audit_chain_intact},
        "orders_from_authorities": {"received": None,
                                    "note": "Orders from authorities are not handled by this service."},
        "notices": {
            "received": f.reports_received,
            "by_category": dict(sorted(notices_by_category.items())),
            "by_rule": f.reports_by_reason,
            "handled_by_automated_means": 0,
            "decided": f.reports_decided,
            "median_hours_to_decision": f.median_hours_to_action,
            "p90_hours_to_decision": f.p90_hours_to_action,
            "median_hours_to_removal_on_network": f.median_hours_to_removal,
        },
        "actions": {
            "decisions": f.decisions,
            "removals": f.removals,
            "by_ground": {"illegal_content": legal, "terms_and_conditions": f.removals - legal},
            "by_detection": f.removals_by_detection,
            "by_category": dict(sorted(Counter({_category(rule): n
                                                for rule, n in f.removals_by_rule.items()}).items())),
            "interim_hides": f.posts_hidden,
            "account_actions": f.account_actions,
            "accounts": {"warned": f.accounts_warned, "suspended": f.accounts_suspended, "banned": f.accounts_banned,
                         "median_hours_to_measure": f.median_hours_to_account_action,
                         "p90_hours_to_measure": f.p90_hours_to_account_action},
        },
        "own_initiative": {"cases_opened_by_automated_detection": f.cases_auto_flagged,
                           "removals": auto_removed},
        "complaints": {
            "received": f.appeals_received,
            "basis_by_rule": f.appeals_by_rule,
            "upheld": f.appeals_upheld,
            "reversed": f.appeals_overturned,
            "pending": f.appeals_pending,
            "median_hours_to_decision": f.appeals_median_hours,
        },
        "automated_moderation": {
            **AUTOMATION,
            "models": f.models_used,
            "auto_flag_thresholds": f.auto_flag_thresholds,
            "accuracy": {"share_of_auto_flagged_cases_removed": flagged_precision,
                         "juror_votes_agreeing_with_verdict": f.agreement_with_verdict},
        },
    }


def to_json(data: dict[str, Any]) -> str:
    """Indented JSON."""
    return json.dumps(data, indent=2, sort_keys=False)


def _flatten(prefix: str, value: Any, rows: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, rows)
    else:
        rows.append((prefix, "" if value is None else value))


def to_csv(data: dict[str, Any]) -> str:
    """One `metric,value` row per figure, dotted paths as in the JSON."""
    rows: list[tuple[str, Any]] = []
    _flatten("", data, rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("metric", "value"))
    writer.writerows((metric, csv_cell(value)) for metric, value in rows)
    return buffer.getvalue()
