"""One run of the surge: a generated day played through the real intake, scoring, dealing, voting,
verdict, strike and outbox code on a throwaway database, under one policy, on a simulated clock in minutes.

The two policies (`POLICIES`): `jury`, Jury's defaults (DEFAULT_SETTINGS: interim hide, the critical
lane, strikes) with clusters on and the reliability-weighted jury; `baseline`, case by case: a fixed
three-juror majority, no clusters, no strikes (a ladder no total reaches), no interim hide, no critical
lane. The policy is published as a lead's change would be.

What happens, minute by minute: the network sends each post when it is posted (`ingest_posts`; the
scoring job runs inline and opens cases for flagged posts, hides what the policy hides) unless its
author is suspended or banned on the network; reports come in when they are made (`ingest_reports`)
unless the post is no longer up; volunteers come in sessions and ask for cases (`deal_next`), read each
for a while and vote (`cast_vote`); a lead decides each escalated case (`decide_escalation`) when one
is free; verdicts' actions go through the outbox to the recorder. Jobs run inline.
"""
from __future__ import annotations

import heapq
import math
import random
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, func, insert, select

import audit
from jury.demo.simulation import REVIEW_SIGMA, _fast_sqlite, _make_app, settings_over
from jury.demo.surge.generator import DAY_MINUTES, Day, GenPost
from jury.demo.surge.world import NetworkRecorder, SimulatedScorer
from jury.panels import juror_reliability, verdicts, voting
from models import OPEN_CASE_STATES, Case, Post, User, Vote, db, sql, utcnow
from models.base import simulated_clock
from models.errors import Conflict
from triage import dealing, intake, transaction
from triage.policy import DEFAULT_SETTINGS, PolicyInForce, publish_policy, validate_settings
from triage.schemas import PostIn, ReportIn

POLICIES: dict[str, dict[str, Any]] = {
    "jury": {"verdict_method": "weighted", "clusters": {**DEFAULT_SETTINGS["clusters"], "enabled": True}},
    "baseline": {"verdict_method": "quorum", "panel_size": 3, "widened_panel_size": 3, "supermajority": 0.6667,
                 "clusters": {**DEFAULT_SETTINGS["clusters"], "enabled": False}, "interim_hide": {},
                 "critical": {"threat_score": 1.0, "reporters": 0},
                 "strikes": {**DEFAULT_SETTINGS["strikes"], "ladder": [{"at": 1e9, "action": "warn"}]}},
}
VOTE_RULE = "violence_threat"
SAMPLE_MINUTES = 15.0
AWAKE_HOURS = (8.0, 24.0)
BATCH = 500


# Minute 0 of every run, on the application's clock.
CLOCK_START = datetime(2021, 1, 8, tzinfo=UTC)


def jury_settings(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Jury's settings for a run: the defaults, POLICIES["jury"], then a reader's overrides (`--set`), checked
    as a lead's change would be (a PolicyError is a ValueError). The baseline takes none."""
    overrides = dict(overrides or {})
    if "verdict_method" in overrides:
        raise ValueError("the surge runs the weighted jury against the baseline: verdict_method is not a setting here")
    settings = settings_over(dict(DEFAULT_SETTINGS, **POLICIES["jury"]), overrides)
    validate_settings(settings)
    return settings


def quiet_threshold(settings: Mapping[str, Any]) -> float:
    """The lowest score at which the policy does anything with an unreported post (flag, hide, the lane).

    A lawful post under it that nobody reports would be stored and scored, and nothing more: the run
    puts it on the network (it counts in the day's figures) without sending it to Jury, which saves
    most of the run's time. `SurgeConfig.send_every_post` sends it anyway: at scale 0.01 both ways gave
    the same figures, but for the count of posts stored in clusters (benchmarks/RESULTS.md).
    """
    labels = ("toxicity", "threat")
    cuts = [float(group[label]) for group in (settings["auto_flag"], settings["interim_hide"])
            for label in labels if label in group]
    return min([*cuts, float(settings["critical"]["threat_score"])])


@dataclass
class Trace:
    """What the run saw, beyond the network's record."""

    samples: list[tuple[float, int, int]] = field(default_factory=list)  # minute, open cases, violent up
    published: dict[int, float] = field(default_factory=dict)  # generated post index -> minute it went up
    blocked: list[int] = field(default_factory=list)  # posts whose author was suspended or banned
    review_minutes: float = 0.0
    lead_minutes: float = 0.0
    verdicts: int = 0
    escalations: int = 0
    reestimations: int = 0
    backlog_cleared_at: float | None = None
    now: float = 0.0


class SurgeRun:
    """One policy on one generated day."""

    def __init__(self, day: Day, policy: str, app_factory: Callable[[Mapping[str, Any]], Flask],
                 progress: Callable[[str], None], settings: Mapping[str, Any] | None = None):
        self.day, self.policy_name, self.app_factory, self.progress = day, policy, app_factory, progress
        self.overrides = dict(settings or {}) if policy == "jury" else {}
        self.config = day.config
        self.rng = random.Random(f"{self.config.seed}-{policy}-jurors")  # noqa: S311 - repeatable runs
        self.trace = Trace()
        self.network = NetworkRecorder(clock=lambda: self.trace.now)
        self.events: list[tuple[float, int, str, int]] = []
        self.seq = 0
        self.case_post: dict[int, GenPost] = {}
        self.by_external = {post.external_id: post for post in day.posts}

    def run(self) -> tuple[Trace, NetworkRecorder, dict]:
        """Play the day on a throwaway database; returns the trace, the network and database counts."""
        folder = Path(tempfile.mkdtemp(prefix="jury-surge-"))
        try:
            app = _make_app(folder, self.app_factory)
            # The stand-ins, through the hooks the code offers, for this run's app only: the generated
            # scores, the recording network, a seeded dealer, and the audit chain left to a sealer as
            # on PostgreSQL (SQLite would chain every commit's events at once; nothing here reads it).
            app.extensions["jury_scorer"] = SimulatedScorer(((p.text, p.probability) for p in self.day.posts),
                                                            self.config.model_auc)
            app.extensions["jury_network"] = self.network
            with app.app_context(), dealing.repeatable(self.config.seed + 1):
                from flask_migrate import upgrade

                db.engine.update_execution_options(**{audit.SEAL_IN_BACKGROUND: True})
                event.listen(db.engine, "connect", _fast_sqlite)
                upgrade()
                # From here on the application's clock (models.utcnow) is the simulated one: priorities,
                # deadlines, leases, exposure caps and suspensions run on simulated time, and a run is
                # the same every time for a seed.
                with simulated_clock(lambda: CLOCK_START + timedelta(minutes=self.trace.now)):
                    self._setup()
                    self._play()
                    return self.trace, self.network, self._counts()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def push(self, at: float, kind: str, subject: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, kind, subject))

    # The world

    def _setup(self) -> None:
        settings = (jury_settings(self.overrides) if self.policy_name == "jury"
                    else dict(DEFAULT_SETTINGS, **POLICIES[self.policy_name]))
        with transaction.atomic():
            self.policy = publish_policy(settings, reason=f"surge: {self.policy_name}", actor="simulation")
        jurors, leads = len(self.day.jurors), self.config.count(self.config.leads)
        with transaction.atomic():
            db.session.execute(insert(User), [
                {"username": f"surge-juror-{i}", "password_hash": "!", "role": "juror", "state": "active",
                 "languages": ["en"], "created_at": utcnow()} for i in range(jurors)])
            db.session.add(User(username="surge-lead", password_hash="!", role="lead", state="active"))  # noqa: S106 - "!" matches no password
        self.users = list(db.session.scalars(select(User).where(User.role == "juror").order_by(User.id)))
        self.lead = db.session.scalar(select(User).where(User.role == "lead"))
        for user in self.users + [self.lead]:
            db.session.expunge(user)
        self.leads_free = [0.0] * leads
        self.reported = {report.post for report in self.day.reports}
        self.acts_from = 0.0 if self.config.send_every_post else quiet_threshold(self.policy.settings)
        new = defaultdict(list)
        for post in self.day.posts:
            if not post.backlog:
                new[math.floor(post.at)].append(post.index)
        self.arrivals = new
        for minute in sorted(new):
            self.push(float(minute), "posts", minute)
        self.reports = defaultdict(list)
        for index, report in enumerate(self.day.reports):
            self.reports[math.floor(report.at)].append(index)
        for minute in sorted(self.reports):
            self.push(float(minute), "reports", minute)
        for juror in range(jurors):
            self.push(self._next_session(juror, 0.0), "ask", juror)
        for k in range(int(self.config.horizon_hours * 60 / SAMPLE_MINUTES) + 1):
            self.push(k * SAMPLE_MINUTES, "sample")

    @property
    def gap_minutes(self) -> float:
        """Mean time between a volunteer's sessions, so that they give the configured minutes a day: a
        session is about 1 / (1 - keep_going) cases of about review_minutes each. A session that would
        start in the volunteer's night starts in their morning instead."""
        config = self.config
        session = config.review_minutes * math.exp(REVIEW_SIGMA ** 2 / 2) / (1 - config.keep_going)
        sessions = config.volunteer_minutes_per_day / session
        return max(DAY_MINUTES - config.volunteer_minutes_per_day, 1.0) / sessions

    def _next_session(self, juror: int, now: float) -> float:
        """When the volunteer next comes in: after a gap, and not while it is night where they live."""
        at = now + self.rng.expovariate(1 / self.gap_minutes)
        local = (at / 60 + self.day.jurors[juror].offset_hours) % 24
        if local < AWAKE_HOURS[0]:
            at += (AWAKE_HOURS[0] - local) * 60 + self.rng.uniform(0, 60)
        return at

    # The events

    def _play(self) -> None:
        started = time.perf_counter()
        self._ingest_backlog()
        end = self.config.horizon_hours * 60
        handlers = {"posts": self._posts, "reports": self._reports, "ask": self._ask, "vote": self._vote,
                    "lead": self._lead, "sample": self._sample}
        last_hour = -1
        while self.events:
            at, _, kind, subject = heapq.heappop(self.events)
            if at > end:
                break
            self.trace.now = at
            handlers[kind](subject)
            if int(at // 60) > last_hour and int(at // 60) % 6 == 0:
                last_hour = int(at // 60)
                self.progress(f"{self.policy_name}: {last_hour} simulated hours, {self.trace.verdicts} verdicts, "
                              f"{time.perf_counter() - started:.0f} s")
            else:
                last_hour = max(last_hour, int(at // 60))

    def _ingest_backlog(self) -> None:
        """The reports waiting at minute 0, with their posts."""
        backlog = [p for p in self.day.posts if p.backlog]
        for post in backlog:
            self.trace.published[post.index] = post.at
        due = [r for r in self.day.reports if self.day.posts[r.post].backlog and r.at <= 0.0]
        for start in range(0, len(due), BATCH):
            intake.ingest_reports([self._report_in(r) for r in due[start:start + BATCH]], actor="surge")
        self.day_reports_done = {id(r) for r in due}

    def _report_in(self, report) -> ReportIn:
        post = self.day.posts[report.post]
        return ReportIn(id=f"{report.reporter}-{post.external_id}", post_id=post.external_id,
                        reporter_id=report.reporter, reason=report.reason, post=self._post_in(post))

    @staticmethod
    def _post_in(post: GenPost) -> PostIn:
        return PostIn(id=post.external_id, author_id=post.author, text=post.text, lang="en")

    def _posts(self, minute: int) -> None:
        """The posts of this minute go up on the network, and to Jury; not those of blocked authors."""
        batch = []
        for index in self.arrivals.pop(minute, []):
            post = self.day.posts[index]
            if self.network.blocked(post.author):
                self.trace.blocked.append(index)
                continue
            self.trace.published[index] = post.at
            if post.violent or index in self.reported or post.probability >= self.acts_from:
                batch.append(self._post_in(post))
        for start in range(0, len(batch), BATCH):
            intake.ingest_posts(batch[start:start + BATCH], actor="surge")

    def _reports(self, minute: int) -> None:
        """Reports made this minute, of posts still up (a hidden or removed post cannot be reported)."""
        due = []
        for index in self.reports.pop(minute, []):
            report = self.day.reports[index]
            if id(report) in self.day_reports_done:
                continue
            post = self.day.posts[report.post]
            if report.post in self.trace.published and self.network.visible(post.external_id):
                due.append(ReportIn(id=f"{report.reporter}-{post.external_id}", post_id=post.external_id,
                                    reporter_id=report.reporter, reason=report.reason))
        for start in range(0, len(due), BATCH):
            intake.ingest_reports(due[start:start + BATCH], actor="surge")

    def _ask(self, juror: int) -> None:
        assignment = dealing.deal_next(self.users[juror])
        if assignment is None:
            self.push(self._next_session(juror, self.trace.now), "ask", juror)
            return
        review = self.config.review_minutes * math.exp(self.rng.gauss(0, REVIEW_SIGMA))
        self.trace.review_minutes += review
        self.push(self.trace.now + review, "vote", juror * 10_000_000 + assignment.case_id)

    def _truth(self, case_id: int) -> GenPost:
        if case_id not in self.case_post:
            external = db.session.scalar(select(Post.external_id).join(Case, Case.post_id == Post.id)
                                         .where(Case.id == case_id))
            self.case_post[case_id] = self.by_external[external]
        return self.case_post[case_id]

    def _vote(self, packed: int) -> None:
        juror, case_id = divmod(packed, 10_000_000)
        violent = self._truth(case_id).violent
        right = self.rng.random() < self.day.jurors[juror].accuracy
        decision = "remove" if violent == right else "keep"
        try:
            result = voting.cast_vote(case_id, self.users[juror], decision, VOTE_RULE if decision == "remove" else None)
        except Conflict:
            result = None  # the case closed while this volunteer read it
        if result is not None and result.outcome in ("remove", "keep"):
            self._decided()
        elif result is not None and result.outcome == "escalate":
            self._escalate(case_id)
        if self.rng.random() < self.config.keep_going:
            self.push(self.trace.now + 0.1, "ask", juror)
        else:
            self.push(self._next_session(juror, self.trace.now), "ask", juror)

    def _escalate(self, case_id: int) -> None:
        """The first lead free takes the case, for lead_minutes_per_case."""
        self.trace.escalations += 1
        lead = min(range(len(self.leads_free)), key=self.leads_free.__getitem__)
        done = max(self.trace.now, self.leads_free[lead]) + self.config.lead_minutes_per_case
        self.leads_free[lead] = done
        self.trace.lead_minutes += self.config.lead_minutes_per_case
        self.push(done, "lead", case_id)

    def _lead(self, case_id: int) -> None:
        """A lead decides an escalated case, and is taken to be right (as in the standard simulation)."""
        outcome = "remove" if self._truth(case_id).violent else "keep"
        try:
            verdicts.decide_escalation(case_id, self.lead, outcome, VOTE_RULE if outcome == "remove" else None,
                                       "simulated lead")
        except Conflict:
            return
        self._decided()

    def _decided(self) -> None:
        self.trace.verdicts += 1
        every = PolicyInForce(self.policy.version, self.policy.settings).reestimate_every
        if self.policy_name == "jury" and self.trace.verdicts % every == 0:
            juror_reliability.reestimate(actor="simulation")
            self.trace.reestimations += 1

    def _sample(self, _subject: int) -> None:
        """Open cases and violent posts still up, for the chart; and whether the backlog is done. And the
        sweeper's step that keeps SQLite's planner statistics (the run has no sweeper of its own)."""
        with transaction.atomic():
            sql.refresh_planner_statistics()
        open_cases = db.session.scalar(select(func.count(Case.id)).where(
            Case.state.in_((*OPEN_CASE_STATES, "escalated")))) or 0
        violent_up = sum(1 for index in self.trace.published if self.day.posts[index].violent
                         and self.network.visible(self.day.posts[index].external_id))
        self.trace.samples.append((self.trace.now, open_cases, violent_up))
        if self.trace.backlog_cleared_at is None:
            waiting = db.session.scalar(select(func.count(Case.id)).join(Post, Post.id == Case.post_id).where(
                Case.state.in_((*OPEN_CASE_STATES, "escalated")), Post.external_id.like("backlog-%"))) or 0
            if not waiting:
                self.trace.backlog_cleared_at = self.trace.now

    def _counts(self) -> dict:
        """What the database holds at the end: cases, votes, and which posts had a case."""
        with_case = set(db.session.scalars(select(Post.external_id).join(Case, Case.post_id == Post.id)))
        votes = db.session.scalar(select(func.count(Vote.id))) or 0
        return {"with_case": with_case, "votes": votes, "cases": db.session.scalar(select(func.count(Case.id))) or 0,
                "clustered_posts": db.session.scalar(select(func.count(Post.id)).where(Post.cluster_id.is_not(None))),
                "now": self.trace.now}
