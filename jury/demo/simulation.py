"""Simulated jurors on a throwaway database, through the real dealing, voting and verdict code.

The model (documented in README.md):
- Cases: `cases` posts arrive at uniform random times over `arrival_hours`; exactly half (rounded
  down) truly violate. Each gets a model score drawn so the ROC-AUC is `model_auc`: the logit of the
  score is normal with unit variance and means +-d/2, d = sqrt(2) * Phi^-1(AUC). The score is stored
  as a Score row (label "toxicity"), so the real triage code opens the case and the weighted policy
  can learn a prior from it.
- Jurors: a share `spammer_share` vote remove or keep at random; the others have an accuracy drawn
  uniformly from [accuracy_low, accuracy_high], the same on both classes. Each juror comes back
  after an exponential gap (mean `session_gap_minutes`), asks for cases one after another through
  `deal_next`, spends a log-normal time on each (median `review_minutes`) before `cast_vote`, and
  after each vote carries on with probability `keep_going` (so about ten cases a session); a juror
  dealt nothing ends the session.
- Escalations: a lead decides an escalated case `lead_minutes` later through the real escalation
  path, and is taken to be right (the lead sees everything and can ask around); escalations are
  counted in `escalation_rate`, so their cost is visible, and `accuracy_without_leads` counts each
  escalated case at the panel's leaning instead: the jury on its own.
- Policy: the defaults (DEFAULT_SETTINGS) with the run's verdict method, and `settings` on top
  (checked as a lead's change is).
- Reliabilities (weighted policy): the same full re-estimation the sweeper's job runs, every
  `reestimate_every_verdicts` verdicts of the policy.
Time is a simulated clock in minutes; the database sees wall-clock time, which only stamps rows.
"""
from __future__ import annotations

import hashlib
import heapq
import math
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

from flask import Flask
from sqlalchemy import event, insert, select

from jury.panels import juror_reliability, verdicts, voting
from models import AuditEvent, Case, JurorReliability, Post, ReliabilityRun, Score, User, Verdict, Vote, db, utcnow
from models.errors import Conflict
from triage import cases, dealing, transaction
from triage.policy import DEFAULT_SETTINGS, PolicyInForce, current_policy, publish_policy, validate_settings

VOTE_RULE = "harassment"


@dataclass(frozen=True)
class SimulationConfig:
    """The inputs of one simulated run."""

    jurors: int = 200
    cases: int = 5000
    accuracy_low: float = 0.6
    accuracy_high: float = 0.95
    spammer_share: float = 0.1
    model_auc: float = 0.9
    policy: str = "weighted"
    seed: int = 1
    arrival_hours: float = 24.0
    session_gap_minutes: float = 120.0
    review_minutes: float = 1.5
    keep_going: float = 0.9
    lead_minutes: float = 60.0
    max_days: float = 14.0
    # The ceiling: the weighted policy told every juror's true accuracy and the model's true
    # calibration instead of estimating them.
    oracle: bool = False
    # Policy settings over the defaults, e.g. {"vote_cost": 0, "max_panel_size": 6}.
    settings: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Raise ValueError on inputs the model cannot run."""
        if self.jurors < 2 or self.cases < 1:
            raise ValueError("need at least 2 jurors and 1 case")
        if not 0.0 <= self.accuracy_low <= self.accuracy_high <= 1.0:
            raise ValueError("juror accuracy must be LO-HI with 0 <= LO <= HI <= 1")
        if not 0.0 <= self.spammer_share <= 1.0:
            raise ValueError("spammer share must be between 0 and 1")
        if not 0.5 <= self.model_auc < 1.0:
            raise ValueError("model AUC must be in [0.5, 1)")
        if self.policy not in ("quorum", "weighted"):
            raise ValueError("policy must be quorum or weighted")
        if self.oracle and self.policy != "weighted":
            raise ValueError("the oracle is a weighted policy")
        if "verdict_method" in self.settings:
            raise ValueError("choose the verdict method with the policy, not a setting")
        validate_settings(settings_over(DEFAULT_SETTINGS, self.settings))  # a PolicyError is a ValueError


def settings_over(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """base with overrides on top: KEY replaces the setting whole, GROUP.KEY sets one key of a group
    (critical.threat_score) and keeps the rest of it."""
    merged = dict(base)
    for key, value in sorted(overrides.items(), key=lambda item: "." in item[0]):  # whole groups first
        group, dot, name = key.partition(".")
        if not dot:
            merged[key] = value
        elif isinstance(merged.get(group), Mapping):
            merged[group] = {**merged[group], name: value}
        else:
            raise ValueError(f"{group} is not a group of policy settings")
    return merged


def parse_range(text: str) -> tuple[float, float]:
    """'0.6-0.95' -> (0.6, 0.95)."""
    low, sep, high = text.partition("-")
    if not sep:
        raise ValueError("give the accuracy as LO-HI, e.g. 0.6-0.95")
    return float(low), float(high)


def _fast_sqlite(dbapi_connection, _record) -> None:
    """The database is thrown away: no need to survive a power cut."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA journal_mode=MEMORY")
    cursor.close()


def _make_app(folder: Path, app_factory: Callable[[Mapping[str, Any]], Flask]) -> Flask:
    """An app on a new SQLite file, jobs inline, actions sent nowhere, retraining off.

    The factory comes from the caller (the `flask jury simulate` command passes the one its app was
    built with, `app.extensions["app_factory"]`): this module is loaded by the application itself,
    so importing the factory here would make a circle.
    """
    return app_factory({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'simulation.sqlite3'}",
        "REDIS_URL": None, "SECRET_KEY": "simulation", "INTAKE_SECRET": "simulation",
        "NETWORK_WEBHOOK_SECRET": "simulation", "NETWORK_ADAPTER": "sandbox",
        # A closed port: each action fails fast and waits for a retry that never comes.
        "NETWORK_URL": "http://127.0.0.1:9/sandbox", "MODEL_DIR": str(folder / "models"),
        "RETRAIN_MIN_VERDICTS": 10 ** 9,
    })


# How much reading times vary around review_minutes (the sigma of their log).
REVIEW_SIGMA = 0.5


@dataclass
class _Run:
    """The event loop's state: the clock, the events to come, and what happened to each case."""

    now: float = 0.0
    events: list[tuple[float, int, str, int, int]] = field(default_factory=list)
    seq: int = 0
    post_of: dict[int, int] = field(default_factory=dict)
    decided_at: dict[int, float] = field(default_factory=dict)  # case id -> minute
    escalated: set[int] = field(default_factory=set)
    leaning: dict[int, bool] = field(default_factory=dict)
    pending_leads: list[tuple[float, int]] = field(default_factory=list)
    since_estimate: int = 0
    reestimations: int = 0

    def push(self, at: float, kind: str, juror: int, case_id: int = 0) -> None:
        """Schedule an event ("ask" or "vote"); events at the same minute keep their order."""
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, kind, juror, case_id))


class Simulation:
    """One run: build the world, play the events, measure."""

    def __init__(self, config: SimulationConfig, app_factory: Callable[[Mapping[str, Any]], Flask],
                 progress: Callable[[str], None] | None = None):
        config.check()
        self.config = config
        self.app_factory = app_factory
        self.rng = random.Random(config.seed)  # noqa: S311 - a seeded simulation, no secrets
        self.progress = progress or (lambda message: None)

    def run(self) -> dict:
        """Run on a throwaway database and return the figures."""
        folder = Path(tempfile.mkdtemp(prefix="jury-simulation-"))
        try:
            app = _make_app(folder, self.app_factory)
            # Dealing stays uniform among the top cases; a seeded generator makes runs repeatable.
            with app.app_context(), dealing.repeatable(self.config.seed + 1):
                from flask_migrate import upgrade

                event.listen(db.engine, "connect", _fast_sqlite)
                upgrade()
                return self._play()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # The world

    def _setup(self) -> None:
        """Policy, jurors, a lead, posts with their model scores."""
        config = self.config
        settings = dict(settings_over(DEFAULT_SETTINGS, config.settings), verdict_method=config.policy)
        with transaction.atomic():
            self.policy = publish_policy(settings, reason="simulation", actor="simulation")
        n_bad = int(config.jurors * config.spammer_share + 0.5)
        self.accuracy = [0.5] * n_bad + [self.rng.uniform(config.accuracy_low, config.accuracy_high)
                                         for _ in range(config.jurors - n_bad)]
        self.rng.shuffle(self.accuracy)
        with transaction.atomic():
            db.session.execute(insert(User), [
                {"username": f"sim-juror-{i}", "password_hash": "!", "role": "juror", "state": "active",
                 "languages": ["en"], "created_at": utcnow()} for i in range(config.jurors)])
            db.session.add(User(username="sim-lead", password_hash="!", role="lead", state="active"))  # noqa: S106 - "!" matches no password
        self.users = list(db.session.scalars(select(User).where(User.role == "juror").order_by(User.id)))
        self.lead = db.session.scalar(select(User).where(User.role == "lead"))
        # Detached, fully loaded accounts: every commit would otherwise expire and reload them all.
        for user in self.users + [self.lead]:
            db.session.expunge(user)

        violating = set(self.rng.sample(range(config.cases), config.cases // 2))
        separation = math.sqrt(2) * NormalDist().inv_cdf(config.model_auc)
        now = utcnow()
        posts, scores = [], []
        for i in range(config.cases):
            logit = self.rng.gauss(separation / 2 if i in violating else -separation / 2, 1.0)
            probability = 1 / (1 + math.exp(-logit))
            text = f"simulated post {i}"
            posts.append({"id": i + 1, "external_id": f"sim-{i}", "author_id": f"sim-author-{i}", "text": text,
                          "lang": "en", "state": "visible", "received_at": now, "scored_at": now,
                          "content_hash": hashlib.sha256(text.encode()).hexdigest()})
            scores.append({"post_id": i + 1, "model_name": "simulated", "model_version": "auc",
                           "labels": {"toxicity": probability}, "max_score": probability,
                           "text_truncated": False, "scored_at": now})
        with transaction.atomic():
            db.session.execute(insert(Post), posts)
            db.session.execute(insert(Score), scores)
        self.truth = {i + 1: (i in violating) for i in range(config.cases)}  # post id -> violates
        if config.oracle:
            self._tell_the_truth(separation)
        arrivals = sorted(self.rng.uniform(0, config.arrival_hours * 60) for _ in range(config.cases))
        order = list(range(1, config.cases + 1))
        self.rng.shuffle(order)
        self.arrivals = list(zip(arrivals, order, strict=True))  # (minute, post id), in time order
        self.next_arrival = 0
        self.arrived_at: dict[int, float] = {}  # post id -> minute

    def _tell_the_truth(self, separation: float) -> None:
        """Store the true matrices and calibration where the estimates would go (the oracle run)."""
        # The score's logit is N(+-d/2, 1): its true log-likelihood ratio is d * logit.
        run = ReliabilityRun(votes=0, cases=0, jurors=len(self.users), known=0, verdicts=0, iterations=0,
                             log_likelihood=0.0, prior_intercept=0.0, prior_slope=separation)
        with transaction.atomic():
            db.session.add(run)
            db.session.flush()
            db.session.add_all(JurorReliability(juror_id=user.id, sensitivity=accuracy, specificity=accuracy,
                                                votes=0.0, run_id=run.id)
                               for user, accuracy in zip(self.users, self.accuracy, strict=True))

    def _open_arrived(self, now: float) -> None:
        """Open the cases of every post that has arrived by `now`, through the real triage code."""
        batch = []
        while self.next_arrival < len(self.arrivals) and self.arrivals[self.next_arrival][0] <= now:
            minute, post_id = self.arrivals[self.next_arrival]
            self.arrived_at[post_id] = minute
            batch.append(post_id)
            self.next_arrival += 1
        if batch:
            with transaction.atomic():
                cases.open_or_refresh(batch, "auto_flagged", current_policy(), "simulation")

    # The events

    def _vote_of(self, juror: int, violates: bool) -> str:
        """What this simulated juror votes on a case."""
        right = self.rng.random() < self.accuracy[juror]
        return "remove" if violates == right else "keep"

    def _play(self) -> dict:
        """Run the event loop and measure."""
        started = time.perf_counter()
        self._setup()
        config = self.config
        run = _Run()
        for juror in range(config.jurors):
            run.push(self.rng.expovariate(1 / config.session_gap_minutes), "ask", juror)
        end = config.max_days * 24 * 60
        while run.events and len(run.decided_at) < config.cases:
            run.now, _, kind, juror, case_id = heapq.heappop(run.events)
            if run.now > end:
                break
            self._decide_escalations(run, until=run.now)
            self._open_arrived(run.now)
            if kind == "ask":
                self._ask(run, juror)
            else:
                self._vote(run, juror, case_id, started)
        # Leads clear what is left on their desk.
        self._decide_escalations(run, until=math.inf)
        return self._figures(run, started)

    def _decide_escalations(self, run: _Run, until: float) -> None:
        """The leads decide the escalated cases whose turn came by `until`, by the truth."""
        while run.pending_leads and run.pending_leads[0][0] <= until:
            at, escalated_id = heapq.heappop(run.pending_leads)
            post_id = run.post_of[escalated_id]
            outcome = "remove" if self.truth[post_id] else "keep"
            verdicts.decide_escalation(escalated_id, self.lead, outcome,
                                       VOTE_RULE if outcome == "remove" else None, "simulated lead")
            run.decided_at[escalated_id] = at

    def _ask(self, run: _Run, juror: int) -> None:
        """A juror asks for a case: reads it for a while, or comes back later when there is none."""
        config = self.config
        assignment = dealing.deal_next(self.users[juror])
        if assignment is None:
            run.push(run.now + self.rng.expovariate(1 / config.session_gap_minutes), "ask", juror)
            return
        review = config.review_minutes * math.exp(self.rng.gauss(0, REVIEW_SIGMA))
        run.push(run.now + review, "vote", juror, assignment.case_id)

    def _vote(self, run: _Run, juror: int, case_id: int, started: float) -> None:
        """A juror votes on the case they read, then asks for another now or later."""
        config = self.config
        if case_id not in run.post_of:
            run.post_of[case_id] = db.session.scalar(select(Case.post_id).where(Case.id == case_id))
        decision = self._vote_of(juror, self.truth[run.post_of[case_id]])
        try:
            result = voting.cast_vote(case_id, self.users[juror], decision,
                                      VOTE_RULE if decision == "remove" else None)
        except Conflict:
            result = None  # the case closed while this juror read it: the vote is not counted
        if result is not None and result.outcome in ("remove", "keep"):
            self._decided(run, case_id, started)
        elif result is not None and result.outcome == "escalate":
            run.escalated.add(case_id)
            # What the jury leaned to when it gave up, to measure the jury without its leads.
            run.leaning[case_id] = juror_reliability.case_posterior(db.session.get(Case, case_id)).posterior >= 0.5
            heapq.heappush(run.pending_leads, (run.now + config.lead_minutes, case_id))
        if self.rng.random() < config.keep_going:
            run.push(run.now + 0.1, "ask", juror)
        else:
            run.push(run.now + self.rng.expovariate(1 / config.session_gap_minutes), "ask", juror)

    def _decided(self, run: _Run, case_id: int, started: float) -> None:
        """A panel decided a case: count it, and re-estimate reliabilities when the policy's turn comes."""
        config = self.config
        run.decided_at[case_id] = run.now
        if len(run.decided_at) % 500 == 0:
            self.progress(f"{len(run.decided_at)} of {config.cases} cases decided, "
                          f"{run.now / 60:.1f} simulated hours, {time.perf_counter() - started:.0f} s")
        run.since_estimate += 1
        if config.policy == "weighted" and not config.oracle and run.since_estimate >= self.policy_every:
            juror_reliability.reestimate(actor="simulation")
            run.reestimations += 1
            run.since_estimate = 0

    def _figures(self, run: _Run, started: float) -> dict:
        """The run's measures, from the verdicts stored."""
        config = self.config
        rows = db.session.execute(select(Verdict.case_id, Verdict.outcome, Verdict.method, Case.post_id)
                                  .join(Case, Case.id == Verdict.case_id)).all()
        right = sum((outcome == "remove") == self.truth[post_id] for _, outcome, _, post_id in rows)
        jury_rows = [row for row in rows if row.method != "lead"]
        jury_right = sum((row.outcome == "remove") == self.truth[row.post_id] for row in jury_rows)
        leaning_right = sum(run.leaning[row.case_id] == self.truth[row.post_id]
                            for row in rows if row.case_id in run.leaning)
        votes = db.session.scalar(select(Vote.id).order_by(Vote.id.desc()).limit(1)) or 0
        minutes = [run.decided_at[row.case_id] - self.arrived_at[row.post_id] for row in rows
                   if row.case_id in run.decided_at]
        decided = len(rows)
        # Verdicts the panel took at its leaning, below its confidence (jury.panels.quorum.Decision.reason).
        at_leaning = sum("at_leaning" in payload for payload in db.session.scalars(
            select(AuditEvent.payload).where(AuditEvent.event_type == "verdict_reached")))
        return {
            **{key: value for key, value in asdict(config).items()},
            "juror_accuracy": [config.accuracy_low, config.accuracy_high],
            "votes_per_verdict": round(votes / decided, 4) if decided else None,
            "accuracy": round(right / decided, 4) if decided else None,
            "jury_accuracy": round(jury_right / len(jury_rows), 4) if jury_rows else None,
            # Escalated cases decided by the panel's leaning instead of a lead: the jury on its own.
            "accuracy_without_leads": round((jury_right + leaning_right) / decided, 4) if decided else None,
            "escalation_rate": round(len(run.escalated) / decided, 4) if decided else None,
            "decided_at_leaning_rate": round(at_leaning / decided, 4) if decided else None,
            "median_minutes_to_verdict": round(statistics.median(minutes), 2) if minutes else None,
            "cases_decided": decided,
            "cases_undecided": config.cases - decided,
            "votes": votes,
            "reestimations": run.reestimations,
            "simulated_hours": round(run.now / 60, 2),
            "wall_seconds": round(time.perf_counter() - started, 1),
        }

    @property
    def policy_every(self) -> int:
        """Verdicts between re-estimations: the policy's setting, as the sweeper uses it."""
        return PolicyInForce(self.policy.version, self.policy.settings).reestimate_every


def simulate(config: SimulationConfig, app_factory: Callable[[Mapping[str, Any]], Flask],
             progress: Callable[[str], None] | None = None) -> dict:
    """Run one simulation on a throwaway app that `app_factory` builds (jury.create_app) and return its
    JSON-ready figures (progress lines go to `progress`)."""
    return Simulation(config, app_factory, progress).run()
