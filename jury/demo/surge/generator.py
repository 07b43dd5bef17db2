"""The surge's generated day: a backlog of reported posts, 24 hours of new posts, their reports and scores.

Seeded and deterministic: the same configuration and seed give the same day, which both runs (Jury's
defaults and the case-by-case baseline) then play. Every figure below is at `--scale 1`; counts scale
linearly (at least one of each). Where each figure comes from is in README.md, *The surge, measured*.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from statistics import NormalDist

DAY_MINUTES = 24 * 60
# How a calibrated model's probability is anchored: the share of violations among the cases jurors
# decide, what retraining on verdicts calibrates to (a fifth, as in the backlog).
CALIBRATION_BASE_RATE = 0.2
# Copies of one violent post, each a small edit of it; the "pasted by twenty accounts".
WAVE_SIZE = (5, 40)
WAVE_GAP_MINUTES = 3.0
MIN_VOLUNTEERS = 12
# Posts per repeat poster over the day.
REPEAT_POSTS = (3, 10)
# How far a copy's model score strays from its original's (the logit's standard deviation).
COPY_SCORE_NOISE = 0.1
HOMOGLYPHS = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "i": "\u0456"}
EMOJI = ("\U0001F525", "\U0001F4A5", "\U0001F1FA\U0001F1F8", "\u2694\ufe0f", "\U0001F52B")


@dataclass(frozen=True)
class SurgeConfig:
    """The generator's parameters, at `scale` (the counts are given at scale 1)."""

    scale: float = 1.0
    seed: int = 1
    copy_share: float = 0.3
    repeat_share: float = 0.3
    model_auc: float = 0.85
    volunteers: int = 1000
    volunteer_minutes_per_day: float = 60.0
    leads: int = 5
    lead_minutes_per_case: float = 10.0
    backlog: int = 26_000
    backlog_violent_share: float = 0.2
    posts_per_day: int = 1_000_000
    violent_share: float = 0.01
    violent_reported_share: float = 0.5
    report_delay_minutes: float = 60.0
    juror_accuracy: tuple[float, float] = (0.6, 0.95)
    spammer_share: float = 0.1
    review_minutes: float = 1.5
    keep_going: float = 0.9
    horizon_hours: float = 48.0
    # Send every post to Jury, even those no policy would act on (run.quiet_threshold): slower, the same figures.
    send_every_post: bool = False

    def check(self) -> None:
        """Raise ValueError on parameters the generator cannot use."""
        if not 0.0 < self.scale <= 10.0:
            raise ValueError("--scale must be over 0 and at most 10")
        for name in ("copy_share", "repeat_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"--{name.replace('_', '-')} must be between 0 and 1, not {value:g}")
        if self.copy_share + self.repeat_share > 1.0:
            raise ValueError("--copy-share and --repeat-share together must be at most 1 (shares of violent posts)")
        if not 0.5 <= self.model_auc < 1.0:
            raise ValueError("model AUC must be in [0.5, 1)")

    def count(self, value: float) -> int:
        """A scale-1 count at this scale (at least 1)."""
        return max(1, round(value * self.scale))

    @property
    def lawful_reported_share(self) -> float:
        """Share of lawful posts reported, so that a fifth of reported posts break the rules (as in the
        backlog): v * r_v / (v * r_v + (1 - v) * r_l) = backlog_violent_share."""
        v, r_v, b = self.violent_share, self.violent_reported_share, self.backlog_violent_share
        return v * r_v * (1 - b) / (b * (1 - v))


@dataclass
class GenPost:
    """One post of the day (or of the backlog, posted before minute 0)."""

    index: int
    external_id: str
    author: str
    text: str
    violent: bool
    at: float
    probability: float
    backlog: bool = False
    wave: int | None = None
    latent: float = 0.0


@dataclass(frozen=True)
class GenReport:
    """One report of a post, at a minute of the simulated clock."""

    at: float
    post: int
    reporter: str
    reason: str


@dataclass(frozen=True)
class Juror:
    """A volunteer: their accuracy (0.5: votes at random) and their clock's offset from UTC, in hours."""

    accuracy: float
    offset_hours: float


@dataclass
class Day:
    """The generated day."""

    config: SurgeConfig
    posts: list[GenPost] = field(default_factory=list)
    reports: list[GenReport] = field(default_factory=list)
    jurors: list[Juror] = field(default_factory=list)
    waves: int = 0

    def summary(self) -> dict:
        """What the day holds, for the output."""
        new = [p for p in self.posts if not p.backlog]
        return {
            "posts": len(new), "violent_new": sum(p.violent for p in new),
            "backlog_posts": len(self.posts) - len(new),
            "backlog_violent": sum(p.violent for p in self.posts if p.backlog),
            "copies": sum(p.wave is not None for p in new), "copy_waves": self.waves,
            "repeat_poster_posts": sum(p.author.startswith("repeat-") for p in new),
            "reports": len(self.reports), "volunteers": len(self.jurors),
        }


class _Generator:
    def __init__(self, config: SurgeConfig):
        self.config = config
        self.rng = random.Random(config.seed)  # noqa: S311 - a seeded simulation, no secrets
        self.separation = math.sqrt(2) * NormalDist().inv_cdf(config.model_auc)
        self.prior = math.log(CALIBRATION_BASE_RATE / (1 - CALIBRATION_BASE_RATE))
        self.words = _vocabulary(self.rng)
        self.day = Day(config)
        self.reporters = 0

    def latent(self, violent: bool) -> float:
        """The model's score before calibration: normal, unit variance, means +-d/2 (ROC-AUC = model_auc)."""
        return self.rng.gauss(self.separation / 2 if violent else -self.separation / 2, 1.0)

    def probability(self, latent: float) -> float:
        """The calibrated probability: the latent's log-likelihood ratio (d * latent) on the base rate."""
        return 1 / (1 + math.exp(-(self.prior + self.separation * latent)))

    def text(self) -> str:
        return " ".join(self.rng.choice(self.words) for _ in range(self.rng.randint(12, 30)))

    def add(self, author: str, violent: bool, at: float, *, backlog: bool = False, text: str | None = None,
            latent: float | None = None, wave: int | None = None) -> GenPost:
        index = len(self.day.posts)
        latent = self.latent(violent) if latent is None else latent
        prefix = "backlog" if backlog else "surge"
        post = GenPost(index, f"{prefix}-{index}", author, text or self.text(), violent, at,
                       self.probability(latent), backlog, wave, latent)
        self.day.posts.append(post)
        return post

    def report(self, post: GenPost, first_at: float, violent: bool) -> None:
        """1 + Poisson(1) reports of a violent post (1 + Poisson(0.3) of a lawful one), an hour apart on
        average; a violent post is reported as a threat 70 % of the time, a lawful one 20 %."""
        extra = _poisson(self.rng, 1.0 if violent else 0.3)
        at = first_at
        for _ in range(1 + extra):
            self.reporters += 1
            threat = self.rng.random() < (0.7 if violent else 0.2)
            reason = "violence_threat" if threat else self.rng.choice(("harassment", "hate", "other"))
            self.day.reports.append(GenReport(at, post.index, f"reporter-{self.reporters}", reason))
            at += self.rng.expovariate(1 / self.config.report_delay_minutes)

    def maybe_report(self, post: GenPost) -> None:
        share = self.config.violent_reported_share if post.violent else self.config.lawful_reported_share
        if self.rng.random() < share:
            self.report(post, post.at + self.rng.expovariate(1 / self.config.report_delay_minutes), post.violent)


def generate(config: SurgeConfig) -> Day:
    """The day for this configuration and seed."""
    config.check()
    gen = _Generator(config)
    _backlog(gen)
    _violent(gen)
    _lawful(gen)
    _jurors(gen)
    gen.day.reports.sort(key=lambda r: (r.at, r.post, r.reporter))
    return gen.day


def _backlog(gen: _Generator) -> None:
    """Reported posts waiting at minute 0, posted over the two days before; a fifth violent."""
    config = gen.config
    for i in range(config.count(config.backlog)):
        violent = gen.rng.random() < config.backlog_violent_share
        post = gen.add(f"backlog-{i}", violent, -gen.rng.uniform(0, 2 * DAY_MINUTES), backlog=True)
        gen.report(post, 0.0, violent)


def _violent(gen: _Generator) -> None:
    """The day's violent posts: copy waves, repeat posters, and one-off authors."""
    config = gen.config
    total = config.count(config.posts_per_day * config.violent_share)
    in_waves = round(total * config.copy_share)
    from_repeaters = round(total * config.repeat_share)
    made = 0
    while made < in_waves:
        size = min(gen.rng.randint(*WAVE_SIZE), in_waves - made)
        made += _wave(gen, size)
    made = 0
    while made < from_repeaters:
        author = f"repeat-{made}"
        for _ in range(min(gen.rng.randint(*REPEAT_POSTS), from_repeaters - made)):
            gen.maybe_report(gen.add(author, True, gen.rng.uniform(0, DAY_MINUTES)))
            made += 1
    for i in range(total - in_waves - from_repeaters):
        gen.maybe_report(gen.add(f"violent-{i}", True, gen.rng.uniform(0, DAY_MINUTES)))


def _wave(gen: _Generator, size: int) -> int:
    """One violent post and its near-duplicates by other accounts, minutes apart; returns the wave's size."""
    wave = gen.day.waves
    gen.day.waves += 1
    first = gen.add(f"wave-{wave}-0", True, gen.rng.uniform(0, DAY_MINUTES - 60), wave=wave)
    gen.maybe_report(first)
    at = first.at
    for j in range(1, size):
        at += gen.rng.expovariate(1 / WAVE_GAP_MINUTES)
        latent = first.latent + gen.rng.gauss(0, COPY_SCORE_NOISE)
        gen.maybe_report(gen.add(f"wave-{wave}-{j}", True, at, text=edit(first.text, gen.rng), latent=latent,
                                 wave=wave))
    return size


def _lawful(gen: _Generator) -> None:
    """The day's lawful posts, by a pool of ordinary authors (twenty posts each on average)."""
    config = gen.config
    total = config.count(config.posts_per_day * (1 - config.violent_share))
    authors = max(1, total // 20)
    for _ in range(total):
        gen.maybe_report(gen.add(f"user-{gen.rng.randrange(authors)}", False, gen.rng.uniform(0, DAY_MINUTES)))


def _jurors(gen: _Generator) -> None:
    """Volunteers: 10 % vote at random, the rest right with an accuracy drawn from juror_accuracy; their
    time zones mostly American (Parler's users), a fifth European, the rest anywhere."""
    config = gen.config
    # At least MIN_VOLUNTEERS, so that a tiny day can still fill a widened panel.
    count = max(MIN_VOLUNTEERS, config.count(config.volunteers))
    spammers = round(count * config.spammer_share)
    low, high = config.juror_accuracy
    accuracies = [0.5] * spammers + [gen.rng.uniform(low, high) for _ in range(count - spammers)]
    gen.rng.shuffle(accuracies)
    for accuracy in accuracies:
        draw = gen.rng.random()
        offset = (gen.rng.uniform(-8, -5) if draw < 0.7 else gen.rng.uniform(0, 2) if draw < 0.9
                  else gen.rng.uniform(-12, 12))
        gen.day.jurors.append(Juror(accuracy, offset))


def edit(text: str, rng: random.Random) -> str:
    """A near-duplicate: one small change (a character, the spacing, an emoji or a homoglyph)."""
    kind = rng.randrange(4)
    if kind == 0:
        position = rng.randrange(len(text))
        return text[:position] + rng.choice("abcdefghijklmnopqrstuvwxyz") + text[position + 1:]
    if kind == 1:
        words = text.split(" ")
        position = rng.randrange(len(words))
        words[position] = words[position] + " "
        return " ".join(words)
    if kind == 2:
        return text + " " + rng.choice(EMOJI)
    letters = [i for i, char in enumerate(text) if char in HOMOGLYPHS]
    if not letters:
        return text + " " + rng.choice(EMOJI)
    chosen = set(rng.sample(letters, min(3, len(letters))))
    return "".join(HOMOGLYPHS[char] if i in chosen else char for i, char in enumerate(text))


def _vocabulary(rng: random.Random, size: int = 600) -> list[str]:
    """Made-up words, so that two unrelated posts share few shingles, as unrelated texts do."""
    consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means here are small)."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k
