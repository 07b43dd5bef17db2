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
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON only.")
def simulate_command(jurors: int, cases: int, juror_accuracy: str, spammer_share: float, model_auc: float,
                     policy: str, seed: int, arrival_hours: float, session_gap_minutes: float,
                     oracle: bool, as_json: bool) -> None:
    """Run the real dealing and verdict code against simulated jurors on a throwaway database."""
    try:
        low, high = parse_range(juror_accuracy)
        config = SimulationConfig(jurors=jurors, cases=cases, accuracy_low=low, accuracy_high=high,
                                  spammer_share=spammer_share, model_auc=model_auc, policy=policy, seed=seed,
                                  arrival_hours=arrival_hours, session_gap_minutes=session_gap_minutes,
                                  oracle=oracle)
        config.check()
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    # Alembic's and the app's INFO lines would bury the progress; errors still show.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    result = simulate(config, current_app.extensions["app_factory"], progress=lambda line: click.echo(line, err=True))
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
        return
    for key in ("policy", "votes_per_verdict", "accuracy", "jury_accuracy", "accuracy_without_leads", "escalation_rate",
                "median_minutes_to_verdict", "cases_decided", "cases_undecided", "wall_seconds"):
        click.echo(f"{key:28} {result[key]}")
