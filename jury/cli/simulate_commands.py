"""`flask jury ...`: the jury's own tools; `simulate` measures a verdict policy against simulated jurors."""
from __future__ import annotations

import json
import logging

import click
from flask import current_app
from flask.cli import AppGroup

from jury.demo.simulation import SimulationConfig, parse_range, simulate

jury_cli = AppGroup("jury", help="Jury tools: simulate verdict policies.")


@jury_cli.command("simulate")
@click.option("--jurors", default=200, show_default=True, type=click.IntRange(2, 100_000))
@click.option("--cases", default=5000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--juror-accuracy", default="0.6-0.95", show_default=True, metavar="LO-HI",
              help="Accuracies of honest jurors, drawn uniformly from this range.")
@click.option("--spammer-share", default=0.1, show_default=True, type=click.FloatRange(0, 1),
              help="Share of jurors who vote at random.")
@click.option("--model-auc", default=0.9, show_default=True, type=click.FloatRange(0.5, 0.999),
              help="ROC-AUC of the simulated model scores.")
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
                   "--set max_panel_size=6 for the fixed-confidence rule.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON only.")
def simulate_command(jurors: int, cases: int, juror_accuracy: str, spammer_share: float, model_auc: float,
                     policy: str, seed: int, arrival_hours: float, session_gap_minutes: float,
                     oracle: bool, settings: tuple[str, ...], as_json: bool) -> None:
    """Run the real dealing and verdict code against simulated jurors on a throwaway database."""
    try:
        low, high = parse_range(juror_accuracy)
        config = SimulationConfig(jurors=jurors, cases=cases, accuracy_low=low, accuracy_high=high,
                                  spammer_share=spammer_share, model_auc=model_auc, policy=policy, seed=seed,
                                  arrival_hours=arrival_hours, session_gap_minutes=session_gap_minutes,
                                  oracle=oracle, settings=parse_settings(settings))
        config.check()
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    # Alembic's and the app's INFO lines would bury the progress; errors still show.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    result = simulate(config, current_app.extensions["app_factory"], progress=lambda line: click.echo(line, err=True))
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
        return
    for line in summary(result):
        click.echo(line)


def parse_settings(pairs: tuple[str, ...]) -> dict:
    """("vote_cost=0", ...) -> {"vote_cost": 0, ...}; a VALUE that is not JSON is taken as a string."""
    settings = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"give a setting as KEY=VALUE, not {pair!r}")
        try:
            settings[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            settings[key.strip()] = text
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
