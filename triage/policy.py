"""The policy in force: thresholds, priority weights and jury rules, versioned."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

import audit
from models import Policy, db
from models.rules import RULE_CODES
from triage import transaction
from triage.flood import DEFAULT_FLOOD, FloodSettingsError, validate_flood
from triage.strikes import DEFAULT_STRIKES, StrikePolicy, StrikeSettingsError, validate_strikes

SEVERITY_NAMES = ("low", "medium", "high", "critical")
# "quorum": the supermajority of a panel decides (a verdict's method says "quorum" too);
# "weighted": the reliability-weighted posterior. Policies written before the two words were one
# said "majority"; migration 0012 rewrote the stored ones, and the old word is still read as "quorum".
VERDICT_METHODS = ("quorum", "weighted")
LEGACY_METHODS = {"majority": "quorum"}

DEFAULT_SETTINGS: dict[str, Any] = {
    # A label at or over its threshold opens a case even without a report.
    "auto_flag": {"toxicity": 0.80, "severe_toxicity": 0.50, "threat": 0.50,
                  "identity_attack": 0.60, "insult": 0.85, "obscene": 0.90},
    # At or over these, the post is hidden on the network until the jury decides.
    "interim_hide": {"severe_toxicity": 0.90, "threat": 0.90},
    # SCORER=cascade: posts whose highest cheap (TF-IDF) score lies in [low, high) are re-scored by
    # the encoder model, as reported posts always are.
    "cascade_band": {"low": 0.30, "high": 0.90},
    # reporter_accuracy (0 to 1): how much a report counts by its reporter's upheld share
    # (triage.reporters); 0, the default, counts every reporter as one.
    "priority_weights": {"severity": 10.0, "reports": 2.0, "age": 5.0, "reporter_accuracy": 0.0},
    # The critical lane (triage.critical): a credible threat to life is a post the model scores at
    # `threat_score` or more on its threat label, or that `reporters` distinct reporters (0: never)
    # report as a violent threat. Hidden at once, dealt first, due within sla_hours.critical, and
    # announced to the on-call URL (ONCALL_WEBHOOK_URL). 0.85: at 0.8, in the surge simulation, the lane
    # hid 6.3 % of the lawful posts reviewed (target 5 %); at 0.85 3.8 %, for a few violent posts hidden
    # later (benchmarks/RESULTS.md, "The lane's threshold").
    "critical": {"threat_score": 0.85, "reporters": 2},
    "panel_size": 3,
    "widened_panel_size": 5,
    # A fresh panel that reviews an appeal (none of the original jurors sit on it).
    "appeal_panel_size": 5,
    "supermajority": 0.6667,
    # "majority": the supermajority quorum above. "weighted": Dawid-Skene posterior of
    # "violates" from each juror's estimated reliability and the model score; decided once it
    # reaches `confidence` either way with at least `min_votes` votes. Weighted cases open
    # `min_votes` seats and add one at a time (up to `max_panel_size`), then escalate.
    "verdict_method": "quorum",
    "confidence": 0.95,
    "min_votes": 2,
    "max_panel_size": 12,
    # Weighted panels below `confidence` once every seat has voted (jury/panels/vote_value.py): one
    # more juror is asked only while their vote is expected to lower the chance of a wrong verdict
    # by more than `vote_cost` (0: the fixed rule, add seats until `confidence`, escalate at the
    # cap); a lead only while that chance is over `lead_cost` and votes would not lower it more
    # cheaply; else the panel decides at its leaning, and its statement says how sure it was.
    "vote_cost": 0.024,
    "lead_cost": 0.25,
    # A flood (triage/flood.py; off by default): at least `min_open_cases` cases open, and more of
    # them than the jury decided in the last `queue_hours` hours. Then one more weighted vote must be
    # worth the group's `vote_cost` instead: a vote spent making a nearly sure case surer is a case
    # nobody reads.
    "flood": DEFAULT_FLOOD,
    # The leads' capacity: most cases waiting for a lead at once. When full, a panel that would
    # escalate widens further or decides at its leaning (a split quorum panel: its majority).
    "max_open_escalations": 20,
    # Full re-estimation of juror reliabilities after this many new verdicts (by the sweeper).
    "reestimate_every_verdicts": 50,
    "lease_minutes": 10,
    "sla_hours": {"low": 72, "medium": 24, "high": 4, "critical": 1},
    # Known-answer audits: the share of dealt cases that are gold, how many gold cases a new
    # juror passes before real cases, the accuracy they need, and the rolling window an
    # active juror is judged on.
    "gold_share": 0.05,
    "probation_gold_cases": 5,
    "gold_accuracy_min": 0.8,
    "gold_window": 20,
    # Most cases of one category (rule code) a juror is dealt in 24 hours; unlisted: no cap.
    "daily_exposure_caps": {"violence_threat": 60, "self_harm": 40, "sexual": 60, "hate": 80},
    # Account measures (triage/strikes.py): what a removal weighs by rule, how long its strike
    # counts, and the ladder of totals to measures (warn, suspend for days, ban).
    "strikes": DEFAULT_STRIKES,
    # Jurors judge the post, not its author: on, the case page shows the author's earlier removals.
    "show_author_removals": False,
    # Near-duplicates (triage/clusters.py, jury/panels/cluster_verdicts.py). Each post joins the cluster
    # whose representative it matches at `similarity` (estimated Jaccard similarity of the normalised
    # texts' shingles, 0.5-1; triage/fingerprint.py says why 0.6) or starts one: in the scoring job
    # (a post a report carries, at intake). Members waiting for review share one case. Once a
    # cluster's case removes its post, a later copy is hidden at once and removed under that verdict
    # at `auto_remove_similarity` or more, else confirmed by one juror; `spot_check_share` of the
    # copies removed that way go to one juror as a spot check.
    "clusters": {"enabled": True, "similarity": 0.6, "auto_remove_similarity": 0.8, "spot_check_share": 0.05},
}

# Below 0.5 the LSH bands (triage/fingerprint.py) would miss too many clusters that reach the threshold.
CLUSTER_SIMILARITY_MIN = 0.5


class PolicyError(ValueError):
    """A policy setting is out of range."""


@dataclass(frozen=True)
class PolicyInForce:
    """A policy version with typed accessors."""

    version: int
    settings: dict[str, Any]

    @property
    def panel_size(self) -> int:
        """Votes needed before a first verdict."""
        return int(self.settings["panel_size"])

    @property
    def widened_panel_size(self) -> int:
        """Votes needed after a split panel widens."""
        return int(self.settings["widened_panel_size"])

    @property
    def appeal_panel_size(self) -> int:
        """Votes an appeal's fresh panel needs (older policy versions predate the setting)."""
        return int(self.settings.get("appeal_panel_size", DEFAULT_SETTINGS["appeal_panel_size"]))

    @property
    def supermajority(self) -> float:
        """Share of votes one side needs to win."""
        return float(self.settings["supermajority"])

    @property
    def verdict_method(self) -> str:
        """"quorum" (a panel's supermajority) or "weighted" (reliability-weighted posterior)."""
        method = str(self.settings.get("verdict_method", "quorum"))
        return LEGACY_METHODS.get(method, method)

    @property
    def confidence(self) -> float:
        """Posterior a weighted verdict needs on its side."""
        return float(self.settings.get("confidence", 0.95))

    @property
    def min_votes(self) -> int:
        """Fewest votes behind a weighted verdict."""
        return int(self.settings.get("min_votes", 2))

    @property
    def max_panel_size(self) -> int:
        """Most seats a weighted panel grows to before it escalates."""
        return int(self.settings.get("max_panel_size", 6))  # 6: the default before vote_cost

    @property
    def vote_cost(self) -> float:
        """Least drop in the chance of a wrong weighted verdict one more vote must buy (0: fixed rule)."""
        return float(self.settings.get("vote_cost", 0.0))

    @property
    def lead_cost(self) -> float:
        """Chance of a wrong verdict above which a lead is worth calling (0.5: never)."""
        return float(self.settings.get("lead_cost", DEFAULT_SETTINGS["lead_cost"]))

    @property
    def flood(self) -> dict[str, Any]:
        """The `flood` group; versions published before it existed keep the fixed vote cost they had."""
        if "flood" not in self.settings:
            return {**DEFAULT_FLOOD, "enabled": False}
        return {**DEFAULT_FLOOD, **self.settings["flood"]}

    @property
    def max_open_escalations(self) -> int | None:
        """Most cases waiting for a lead at once (None: no cap, for versions before the setting)."""
        cap = self.settings.get("max_open_escalations")
        return None if cap is None else int(cap)

    @property
    def opening_seats(self) -> int:
        """Seats a new case opens with: the full panel, or the weighted minimum (seats are added one by one)."""
        return self.min_votes if self.verdict_method == "weighted" else self.panel_size

    @property
    def reestimate_every(self) -> int:
        """New verdicts between full reliability re-estimations."""
        return int(self.settings.get("reestimate_every_verdicts", 50))

    @property
    def lease_minutes(self) -> int:
        """How long a dealt seat is held for a juror."""
        return int(self.settings["lease_minutes"])

    def sla_hours(self, severity: int) -> float:
        """Hours allowed from intake to verdict at this severity."""
        return float(self.settings["sla_hours"][SEVERITY_NAMES[severity]])

    @property
    def gold_share(self) -> float:
        """Share of dealt cases that are gold (known-answer) cases."""
        return float(self.settings.get("gold_share", DEFAULT_SETTINGS["gold_share"]))

    @property
    def probation_gold_cases(self) -> int:
        """Gold cases a juror on probation (or paused) must answer before real cases."""
        return int(self.settings.get("probation_gold_cases", DEFAULT_SETTINGS["probation_gold_cases"]))

    @property
    def gold_accuracy_min(self) -> float:
        """Gold accuracy a juror needs to leave probation and to stay active."""
        return float(self.settings.get("gold_accuracy_min", DEFAULT_SETTINGS["gold_accuracy_min"]))

    @property
    def gold_window(self) -> int:
        """How many of an active juror's latest gold answers their accuracy is judged on."""
        return int(self.settings.get("gold_window", DEFAULT_SETTINGS["gold_window"]))

    @property
    def daily_exposure_caps(self) -> dict[str, int]:
        """Most cases per category a juror is dealt in 24 hours."""
        caps = self.settings.get("daily_exposure_caps", DEFAULT_SETTINGS["daily_exposure_caps"])
        return {code: int(cap) for code, cap in caps.items()}

    @property
    def cascade_band(self) -> tuple[float, float]:
        """(low, high): the cheap scores the cascade re-scores with the encoder model."""
        band = self.settings.get("cascade_band", DEFAULT_SETTINGS["cascade_band"])
        return float(band["low"]), float(band["high"])

    @property
    def strikes(self) -> StrikePolicy:
        """The strike ladder (the defaults for versions published before it existed)."""
        return StrikePolicy.from_settings(self.settings.get("strikes"))

    @property
    def clustering(self) -> bool:
        """Whether intake assigns new posts to near-duplicate clusters."""
        return bool(self.cluster_settings["enabled"])

    @property
    def cluster_similarity(self) -> float:
        """Least estimated similarity to a cluster's representative for a post to join it."""
        return float(self.cluster_settings["similarity"])

    @property
    def cluster_settings(self) -> dict[str, Any]:
        """The `clusters` group, completed with the defaults of settings a newer release added."""
        return {**DEFAULT_SETTINGS["clusters"], **self.settings.get("clusters", {})}

    def weight(self, name: str) -> float:
        """One priority weight."""
        return float(self.settings["priority_weights"][name])


def validate_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Check a settings mapping and return a complete copy (missing keys from defaults)."""
    merged = copy.deepcopy(DEFAULT_SETTINGS)
    for key, value in settings.items():
        if key not in merged:
            raise PolicyError(f"unknown policy setting {key!r}")
        merged[key] = value
    merged["priority_weights"] = _priority_weights(merged["priority_weights"])
    merged["critical"] = _critical(merged["critical"])
    for group in ("auto_flag", "interim_hide"):
        for label, threshold in merged[group].items():
            if not 0.0 <= float(threshold) <= 1.0:
                raise PolicyError(f"{group}.{label} must be between 0 and 1")
    band = merged["cascade_band"]
    if not isinstance(band, dict) or set(band) != {"low", "high"}:
        raise PolicyError("cascade_band must hold exactly low and high")
    if not 0.0 <= float(band["low"]) <= float(band["high"]) <= 1.0:
        raise PolicyError("cascade_band needs 0 <= low <= high <= 1")
    if not 1 <= int(merged["panel_size"]) <= int(merged["widened_panel_size"]) <= 25:
        raise PolicyError("need 1 <= panel_size <= widened_panel_size <= 25")
    if not 1 <= int(merged["appeal_panel_size"]) <= 25:
        raise PolicyError("appeal_panel_size must be between 1 and 25")
    if not 0.5 < float(merged["supermajority"]) <= 1.0:
        raise PolicyError("supermajority must be over 0.5 and at most 1")
    merged["verdict_method"] = LEGACY_METHODS.get(merged["verdict_method"], merged["verdict_method"])
    if merged["verdict_method"] not in VERDICT_METHODS:
        raise PolicyError(f"verdict_method must be one of {', '.join(VERDICT_METHODS)}")
    if not 0.5 < float(merged["confidence"]) < 1.0:
        raise PolicyError("confidence must be over 0.5 and under 1")
    if not 1 <= int(merged["min_votes"]) <= int(merged["max_panel_size"]) <= 25:
        raise PolicyError("need 1 <= min_votes <= max_panel_size <= 25")
    if not 0.0 <= float(merged["vote_cost"]) < 0.5:
        raise PolicyError("vote_cost must be at least 0 and under 0.5")
    if not 0.0 < float(merged["lead_cost"]) <= 0.5:
        raise PolicyError("lead_cost must be over 0 and at most 0.5")
    try:
        merged["flood"] = validate_flood(merged["flood"], float(merged["vote_cost"]))
    except FloodSettingsError as error:
        raise PolicyError(str(error)) from None
    if int(merged["max_open_escalations"]) < 0:
        raise PolicyError("max_open_escalations must be at least 0")
    if int(merged["reestimate_every_verdicts"]) < 1:
        raise PolicyError("reestimate_every_verdicts must be at least 1")
    if int(merged["lease_minutes"]) < 1:
        raise PolicyError("lease_minutes must be at least 1")
    for name in SEVERITY_NAMES:
        if float(merged["sla_hours"].get(name, 0)) <= 0:
            raise PolicyError(f"sla_hours.{name} must be positive")
    if not 0.0 <= float(merged["gold_share"]) <= 1.0:
        raise PolicyError("gold_share must be between 0 and 1")
    if not 0.0 <= float(merged["gold_accuracy_min"]) <= 1.0:
        raise PolicyError("gold_accuracy_min must be between 0 and 1")
    if int(merged["probation_gold_cases"]) < 0 or int(merged["gold_window"]) < 1:
        raise PolicyError("probation_gold_cases must be >= 0 and gold_window >= 1")

    for code, cap in merged["daily_exposure_caps"].items():
        if code not in RULE_CODES or int(cap) < 0:
            raise PolicyError(f"daily_exposure_caps.{code}: a rule code and a cap >= 0")
    if not isinstance(merged["show_author_removals"], bool):
        raise PolicyError("show_author_removals must be true or false")
    merged["clusters"] = _validate_clusters(merged["clusters"])
    try:
        merged["strikes"] = validate_strikes(merged["strikes"])
    except StrikeSettingsError as error:
        raise PolicyError(str(error)) from None
    return merged


def _priority_weights(weights: Any) -> dict[str, float]:
    """The priority weights, completed with any weight a newer release added; each a number >= 0."""
    if not isinstance(weights, dict):
        raise PolicyError("priority_weights must map each weight to a number")
    complete = {**DEFAULT_SETTINGS["priority_weights"], **weights}
    for name, value in complete.items():
        if name not in DEFAULT_SETTINGS["priority_weights"]:
            raise PolicyError(f"unknown priority weight {name!r}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) < 1e6:
            raise PolicyError(f"priority_weights.{name} must be a number of at least 0")
    if complete["reporter_accuracy"] > 1.0:
        raise PolicyError("priority_weights.reporter_accuracy must be between 0 and 1")
    return {name: float(value) for name, value in complete.items()}


def _critical(group: Any) -> dict[str, Any]:
    """The critical lane's settings, completed from the defaults and checked."""
    if not isinstance(group, dict) or set(group) - set(DEFAULT_SETTINGS["critical"]):
        raise PolicyError("critical holds threat_score and reporters only")
    complete = {**DEFAULT_SETTINGS["critical"], **group}
    score, reporters = complete["threat_score"], complete["reporters"]
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0.0 < float(score) <= 1.0:
        raise PolicyError("critical.threat_score must be over 0 and at most 1")
    if isinstance(reporters, bool) or not isinstance(reporters, int) or not 0 <= reporters <= 1000:
        raise PolicyError("critical.reporters must be a whole number from 0 (never) to 1000")
    return {"threat_score": float(score), "reporters": reporters}


def _validate_clusters(group: Any) -> dict[str, Any]:
    """The `clusters` group, completed with the defaults of the settings it leaves out: `enabled` (true or
    false), `similarity` and `auto_remove_similarity` (0.5 to 1, the second at least the first) and
    `spot_check_share` (0 to 1)."""
    if not isinstance(group, dict) or not set(group) <= set(DEFAULT_SETTINGS["clusters"]):
        raise PolicyError("clusters may hold only enabled, similarity, auto_remove_similarity and spot_check_share")
    given, group = group, {**DEFAULT_SETTINGS["clusters"], **group}
    if "auto_remove_similarity" not in given and isinstance(group["similarity"], int | float):
        # Never below the similarity a post joins at (a lead who raises one need not raise both).
        group["auto_remove_similarity"] = max(group["auto_remove_similarity"], group["similarity"])
    if not isinstance(group["enabled"], bool):
        raise PolicyError("clusters.enabled must be true or false")
    for name in ("similarity", "auto_remove_similarity", "spot_check_share"):
        value = group[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PolicyError(f"clusters.{name} must be a number")
    if not CLUSTER_SIMILARITY_MIN <= float(group["similarity"]) <= 1.0:
        raise PolicyError(f"clusters.similarity must be a number from {CLUSTER_SIMILARITY_MIN} to 1")
    if not float(group["similarity"]) <= float(group["auto_remove_similarity"]) <= 1.0:
        raise PolicyError("clusters.auto_remove_similarity must be from clusters.similarity to 1")
    if not 0.0 <= float(group["spot_check_share"]) <= 1.0:
        raise PolicyError("clusters.spot_check_share must be from 0 to 1")
    return group


# Versions change a few times a month, yet nearly every request reads the one in force: each
# process keeps it for POLICY_CACHE_SECONDS. Publishing clears this process's copy when it
# commits; other processes pick the new version up within that time.
_CACHE = "jury.policy_cache"
_PUBLISHED = "jury.policy_published"


_LATEST = select(Policy).order_by(Policy.version.desc()).limit(1)


def current_policy(fresh: bool = False) -> PolicyInForce:
    """The highest policy version, creating version 1 from the defaults on first use.

    `fresh` reads the database whatever the cache holds: the lead console edits and diffs against
    the version in force, and a copy another process has not refreshed yet would silently undo the
    last change when saved.
    """
    cache = current_app.extensions.setdefault(_CACHE, {})
    ttl = float(current_app.config.get("POLICY_CACHE_SECONDS", 0))
    # A transaction that publishes reads its own new version, and never caches it before its commit.
    publishing = db.session.info.get(_PUBLISHED, False)
    cached = cache.get("policy")
    if cached is not None and not (publishing or fresh) and time.monotonic() - cached[0] < ttl:
        return cached[1]
    read_at = time.monotonic()
    row = db.session.scalar(_LATEST)
    if row is None:
        row, publishing = _first_version()
    policy = PolicyInForce(row.version, copy.deepcopy(row.settings))
    if not publishing:
        cache["policy"] = (read_at, policy)
    return policy


def latest_settings() -> dict[str, Any] | None:
    """The settings of the highest stored version, or None when there is none or no policy table yet.

    Unlike current_policy() it never creates version 1: read-only tools (evaluating a model) use it.
    """
    from sqlalchemy.exc import SQLAlchemyError

    try:
        row = db.session.scalar(_LATEST)
    except SQLAlchemyError:
        transaction.abandon()
        return None
    return None if row is None else copy.deepcopy(row.settings)


# Taken only while no policy exists yet; the audit chain's lock is another key.
_FIRST_VERSION_LOCK_KEY = 0x4A55_5259_0001


def _first_version() -> tuple[Policy, bool]:
    """Version 1 from the defaults, created once even when processes start at the same moment.

    Returns (the version, whether this transaction created it). On PostgreSQL the lock makes a
    second process wait for the first one's commit and then read its version; without it, both
    inserted version 1 and the second request failed on the unique key. SQLite runs one writer.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_VERSION_LOCK_KEY})
        row = db.session.scalar(_LATEST)  # a new snapshot: sees a version committed meanwhile
        if row is not None:
            return row, False
    return publish_policy(DEFAULT_SETTINGS, reason="initial defaults", actor="system"), True


def register_listeners() -> None:
    """Drop this process's cached policy when a publication commits (create_app calls this once)."""
    for name, listener in (("after_commit", _forget_published), ("after_rollback", _publish_undone)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def _forget_published(session: Session) -> None:
    """A new version was committed here: the next read in this process takes it."""
    if session.info.pop(_PUBLISHED, False):
        current_app.extensions.get(_CACHE, {}).pop("policy", None)


def _publish_undone(session: Session) -> None:
    """A rolled-back publication never happened; the cached version still holds."""
    session.info.pop(_PUBLISHED, None)


def publish_policy(settings: dict[str, Any], *, reason: str, actor: str,
                   created_by_id: int | None = None) -> Policy:
    """Store settings as the next policy version, with its audit event, in the caller's transaction
    (a lead's change: jury.leads.policy_versions; version 1: current_policy, in whatever change first reads it)."""
    if not reason.strip():
        raise PolicyError("a policy change needs a reason")
    merged = validate_settings(settings)
    latest = db.session.scalar(select(Policy.version).order_by(Policy.version.desc()).limit(1)) or 0
    row = Policy(version=latest + 1, settings=merged, reason=reason, created_by_id=created_by_id)
    db.session.add(row)
    db.session.flush()
    db.session.info[_PUBLISHED] = True
    audit.record(db.session, "policy_published", "policy", row.version,
                 {"reason": reason, "settings": merged}, actor=actor)
    return row
