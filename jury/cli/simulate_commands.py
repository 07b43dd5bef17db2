"""`flask jury ...`: the jury's own tools; `simulate` measures a verdict policy against simulated jurors."""
from __future__ import annotations

import json
import logging
import math

import click
from click.core import ParameterSource
from flask import current_app
from flask.cli import AppGroup

from jury.demo.simulation import SimulationConfig, parse_range, simulate
from jury.demo.surge import SurgeConfig, jury_settings, surge

jury_cli = AppGroup("jury", help="Jury tools: simulate verdict policies.")


# Options that belong to one scenario only: giving one to the other is an error, never ignored.
STANDARD_ONLY = ("jurors", "cases", "juror_accuracy", "spammer_share", "policy", "arrival_hours",
                 "session_gap_minutes", "oracle")
SURGE_ONLY = ("scale", "copy_share", "repeat_share", "chart", "parallel")


@jury_cli.command("simulate")
@click.option("--scenario", type=click.Choice(["standard", "surge"]), default="standard", show_default=True,
              help="standard: one verdict policy against simulated jurors; surge: a day like Parler's in "
                   "January 2021, Jury's defaults against a case-by-case baseline.")
@click.option("--scale", type=float, default=None, help="surge: the day's size, 1 = 1,000 volunteers and a "
              "backlog of 26,000 reports (default 1).")
@click.option("--copy-share", type=float, default=None,
              help="surge: share of violent posts arriving in copy waves (default 0.3).")
@click.option("--repeat-share", type=float, default=None,
              help="surge: share of violent posts from repeat posters (default 0.3).")
@click.option("--chart", type=click.Path(dir_okay=False, writable=True), default=None,
              help="surge: write the chart (SVG) of the backlog and violent posts still up to this file.")
@click.option("--parallel", is_flag=True,
              help="surge: play the two policies at once, in two processes (the same figures, in about half "
                   "the time on two cores).")
@click.option("--jurors", default=200, show_default=True, type=click.IntRange(2, 100_000))
@click.option("--cases", default=5000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--juror-accuracy", default="0.6-0.95", show_default=True, metavar="LO-HI",
              help="Accuracies of honest jurors, drawn uniformly from this range.")
@click.option("--spammer-share", default=0.1, show_default=True, type=click.FloatRange(0, 1),
              help="Share of jurors who vote at random.")
@click.option("--model-auc", default=None, type=click.FloatRange(0.5, 0.999),
              help="ROC-AUC of the simulated model scores (default 0.9; surge: 0.85).")
@click.option("--policy", type=click.Choice(["quorum", "weighted"]), default="weighted", show_default=True)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--arrival-hours", default=24.0, show_default=True, type=click.FloatRange(0.01, 24 * 365),
              help="Cases arrive uniformly over this many hours.")
@click.option("--session-gap-minutes", default=120.0, show_default=True, type=click.FloatRange(0.1, 100_000),
              help="Mean time between a juror's sessions.")
@click.option("--oracle", is_flag=True,
              help="Weighted policy told the jurors' true accuracies and the model's true calibration (a ceiling).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="A policy setting over the defaults, VALUE as JSON (repeatable), e.g. --set vote_cost=0 "
                   "--set max_panel_size=6 for the fixed-confidence rule; GROUP.KEY sets one key of a group "
                   "(--set critical.threat_score=0.85). surge: Jury's run only, the baseline stays as it is.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON only.")
@click.pass_context
def simulate_command(ctx: click.Context, scenario: str, scale: float | None, copy_share: float | None,
                     repeat_share: float | None, chart: str | None, parallel: bool, model_auc: float | None,
                     seed: int, as_json: bool, **standard) -> None:
    """Run the real dealing and verdict code against simulated jurors on a throwaway database."""
    given = [name for name in ctx.params if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)]
    wrong = [name for name in given if name in (STANDARD_ONLY if scenario == "surge" else SURGE_ONLY)]
    if wrong:
        flag = next(param.opts[0] for param in ctx.command.params if param.name == wrong[0])
        raise click.UsageError(f"{flag} does not apply to --scenario {scenario}")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if scenario == "surge":
        _surge(scale, copy_share, repeat_share, chart, model_auc, seed, as_json, standard["settings"], parallel)
    else:
        _standard(model_auc=0.9 if model_auc is None else model_auc, seed=seed, as_json=as_json, **standard)


def _surge(scale: float | None, copy_share: float | None, repeat_share: float | None, chart: str | None,
           model_auc: float | None, seed: int, as_json: bool, settings: tuple[str, ...], parallel: bool) -> None:
    """The surge: both policies on one generated day (settings: over Jury's, never the baseline's)."""
    defaults = SurgeConfig()
    try:
        config = SurgeConfig(scale=defaults.scale if scale is None else scale, seed=seed,
                             copy_share=defaults.copy_share if copy_share is None else copy_share,
                             repeat_share=defaults.repeat_share if repeat_share is None else repeat_share,
                             model_auc=defaults.model_auc if model_auc is None else model_auc)
        config.check()
        overrides = parse_settings(settings)
        jury_settings(overrides)  # refuses what the policy would (a PolicyError is a ValueError)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    result = surge(config, current_app.extensions["app_factory"], progress=lambda line: click.echo(line, err=True),
                   chart=chart, settings=overrides, parallel=parallel)
    if as_json:
        click.echo(json.dumps(_finite(result), sort_keys=True))
        return
    for line in surge_summary(result):
        click.echo(line)


def _standard(jurors: int, cases: int, juror_accuracy: str, spammer_share: float, model_auc: float,
              policy: str, seed: int, arrival_hours: float, session_gap_minutes: float,
              oracle: bool, settings: tuple[str, ...], as_json: bool) -> None:
    """The standard simulation: one verdict policy."""
    try:
        low, high = parse_range(juror_accuracy)
        config = SimulationConfig(jurors=jurors, cases=cases, accuracy_low=low, accuracy_high=high,
                                  spammer_share=spammer_share, model_auc=model_auc, policy=policy, seed=seed,
                                  arrival_hours=arrival_hours, session_gap_minutes=session_gap_minutes,
                                  oracle=oracle, settings=parse_settings(settings))
        config.check()
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    result = simulate(config, current_app.extensions["app_factory"], progress=lambda line: click.echo(line, err=True))
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
        return
    for line in summary(result):
        click.echo(line)


def parse_settings(pairs: tuple[str, ...]) -> dict:
    """("vote_cost=0", "critical.threat_score=0.85", ...) -> {"vote_cost": 0, "critical.threat_score": 0.85,
    ...}; a VALUE that is not JSON is taken as a string. GROUP.KEY sets one key of a group
    (jury.demo.simulation.settings_over)."""
    settings: dict = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not all(part.strip() for part in key.split(".")) or key.count(".") > 1:
            raise ValueError(f"give a setting as KEY=VALUE or GROUP.KEY=VALUE, not {pair!r}")
        try:
            settings[key] = json.loads(text)
        except json.JSONDecodeError:
            settings[key] = text
    return settings


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def summary(result: dict) -> list[str]:
    """The run's figures for a reader: the jury on its own first, then with perfect leads."""
    oracle = " (oracle)" if result["oracle"] else ""
    lines = [
        f"policy {result['policy']}{oracle}, settings {result['settings'] or 'the defaults'}",
        "The jury on its own (escalated cases counted at the panel's leaning):",
        f"  accuracy                  {result['accuracy_without_leads']}",
        f"  votes per verdict         {result['votes_per_verdict']}",
        f"  cases escalated           {_share(result['escalation_rate'])}",
        f"  decided at its leaning    {_share(result['decided_at_leaning_rate'])} (below its confidence, said so)",
        "With a lead taken to be right on every escalated case:",
        f"  accuracy                  {result['accuracy']}",
        "Other figures:",
    ]
    for key in ("jury_accuracy", "median_minutes_to_verdict", "cases_decided", "cases_undecided", "wall_seconds"):
        lines.append(f"  {key:26}{result[key]}")
    return lines


def _finite(value):
    """JSON has no infinity: a percentile never reached is written "inf"."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return "inf" if isinstance(value, float) and math.isinf(value) else value


SURGE_FIGURES = ("violent_posts", "violent_posts_published", "violent_posts_blocked", "violent_hidden_p95_minutes",
                 "violent_removed_p95_hours", "violent_removed_p99_hours", "violent_left_up_after_24h",
                 "violent_hidden_within_5_minutes_share", "violent_removed_within_24_hours_share",
                 "violent_known_posts", "violent_known_hidden_p95_minutes", "violent_known_removed_p95_hours",
                 "lawful_removed_share", "lawful_hidden_share", "juror_hours", "lead_hours", "backlog_peak",
                 "backlog_cleared_hours", "wall_seconds")


def surge_summary(result: dict) -> list[str]:
    """Both runs' figures side by side, then the generator's parameters."""
    lines = [f"Jury's settings over its defaults: {result['jury_settings']}"] if result.get("jury_settings") else []
    lines.append(f"{'figure':34}{'jury':>14}{'baseline':>14}")
    for key in SURGE_FIGURES:
        lines.append(f"{key:34}{result['jury'][key]!s:>14}{result['baseline'][key]!s:>14}")
    lines.append("What any policy could reach on this day (a perfect jury deciding at once; README, The surge):")
    for key, value in result["bound"].items():
        lines.append(f"  {key:52}{value}")
    lines.append("The generated day:")
    for key, value in result["generator"].items():
        lines.append(f"  {key:32}{value}")
    return lines
