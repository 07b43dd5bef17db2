"""`flask classifiers ...`: train a scikit-learn model on a labelled CSV, evaluate models on CSVs or verdicts.

Progress goes to stderr, results to stdout (with --json, stdout holds the JSON and nothing else).
scikit-learn is imported inside the commands: registering them must not slow every `flask` call.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

import audit
from models import db
from triage import jobs, training, transaction
from triage.policy import DEFAULT_SETTINGS, latest_settings
from triage.training import verdict_examples

classifiers_cli = AppGroup("classifiers", help="Train and evaluate toxicity classifiers.")

FORMAT_NAMES = ("davidson", "mlma", "jigsaw")
# classifiers.presets.PRESET_NAMES, written out: importing classifiers loads scikit-learn.
PRESET_NAMES = ("plain", "small", "fr", "encoder")


def _data_options(func):
    """The options that say how to read a labelled CSV, shared by train and evaluate."""
    options = [
        click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Labelled CSV or TSV file (texts may span lines inside quotes)."),
        click.option("--text-column", help="Column holding the text (default: the format's)."),
        click.option("--label-column", help="Column holding the label (default: the format's; jigsaw: six labels)."),
        click.option("--positive", multiple=True, help="A label value meaning toxic (repeatable)."),
        click.option("--negative", multiple=True,
                     help="A label value meaning not toxic (repeatable); alone, every other value is toxic."),
        click.option("--format", "format_name", type=click.Choice(FORMAT_NAMES),
                     help="Column names and value rules of a known data set."),
        click.option("--sep", help="Field separator; TAB for tab (default: tab for .tsv/.tab, else comma)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _model_options(func):
    """Options choosing the scikit-learn parameters of a model to train."""
    options = [
        click.option("--preset", type=click.Choice(PRESET_NAMES), default="plain", show_default=True,
                     help="plain: TF-IDF word and char n-grams. small: naive-Bayes weighted, C=0.25; trained on "
                          "MLMA English it ranked Davidson best of the TF-IDF presets (ROC-AUC 0.665). fr: small "
                          "keeping accents; best in 5-fold CV on MLMA French (0.743). encoder: TF-IDF words beside "
                          "sentence "
                          "embeddings, strongly regularised (C=0.25; needs --encoder); trained on Davidson or "
                          "MLMA English it ranked the other 0.04-0.10 ROC-AUC above a plain TF-IDF regression. "
                          "Figures: benchmarks/RESULTS.md."),
        click.option("--encoder", "encoder_source", metavar="PATH_OR_NAME",
                     help="With --preset encoder: a sentence-transformers folder (read offline) or a hub name "
                          "(downloaded where the network allows); its files are copied into the saved model."),
        click.option("--param", "param_pairs", multiple=True, metavar="KEY=VALUE",
                     help="Override one scorer parameter (VALUE read as JSON, else as text), e.g. C=0.5."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Turn the errors a user can cause (bad file, bad model dir, bad values) into one-line messages."""
    from classifiers import ScorerError

    try:
        yield
    except click.ClickException:
        raise
    except (ScorerError, ValueError, OSError) as error:  # DatasetError is a ValueError
        raise click.ClickException(str(error)) from None


def _load_data(csv_path: Path | None, text_column: str | None, label_column: str | None,
               positive: tuple[str, ...], negative: tuple[str, ...], format_name: str | None, sep: str | None):
    """Read the labelled CSV the options describe and say on stderr what was read."""
    from classifiers.datasets import load_labelled_csv

    if csv_path is None:
        raise click.UsageError("--csv is required")
    if format_name is None and (text_column is None or label_column is None):
        raise click.UsageError("give --text-column and --label-column, or a --format")
    data = load_labelled_csv(csv_path, text_column, label_column, positive or None, sep,
                             negative=negative or None, format=format_name)
    summary = data.summary
    positives = ", ".join(f"{label} {n}" for label, n in summary["positives"].items())
    note = f"; left out {summary['skipped']} ({_reasons(summary['skipped_reasons'])})" if summary["skipped"] else ""
    click.echo(f"read {summary['rows']} rows from {csv_path.name} (positive: {positives}){note}", err=True)
    return data


def _reasons(reasons: dict[str, int]) -> str:
    return ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in reasons.items())


def _params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """The --param overrides, each VALUE read as JSON where it parses, else as text."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--param expects KEY=VALUE, got {pair!r}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        params[key.strip()] = value
    return params


def _check_preset(preset: str, pairs: tuple[str, ...], encoder: str | None) -> None:
    """Usage errors of the model options, before any file is read."""
    if encoder is not None and preset != "encoder":
        raise click.UsageError("--encoder applies only with --preset encoder")
    if preset == "encoder" and not encoder:
        raise click.UsageError("--preset encoder needs --encoder PATH_OR_NAME (a sentence-transformers model)")
    _params(pairs)


def _recipe(preset: str, pairs: tuple[str, ...], labels, name: str | None, encoder: str | None):
    """How the preset trains (classifiers.presets.recipe), with the command line's overrides."""
    from classifiers.presets import recipe

    if preset == "encoder":
        click.echo(f"loading the sentence encoder {encoder}...", err=True)
    return recipe(preset, _params(pairs), labels, name, encoder)


def _progressbar(length: int, label: str):
    """A progress bar on stderr, so stdout stays clean for results."""
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)




def _csv_sha256(path: Path) -> str:
    from classifiers.scorer import file_sha256  # here: importing classifiers loads scikit-learn

    return file_sha256(path)


@classifiers_cli.command("train")
@_data_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory: the model is saved in a new version folder and CURRENT points at it.")
@_model_options
@click.option("--name", help="Model name stored in its metadata (default: sklearn-tfidf, or encoder-tfidf).")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(0, 50),
              help="Measure by k-fold cross-validation on the file before training (0: measure nothing).")
@click.option("--seed", default=0, show_default=True, help="Seed of the cross-validation folds.")
def train_command(csv_path, text_column, label_column, positive, negative, format_name, sep, out_dir,
                  preset, encoder_source, param_pairs, name, folds, seed) -> None:
    """Measure a model by k-fold cross-validation on a labelled CSV, then save one trained on every row.

    The cross-validated figure estimates how the model does on posts like the file's rows; on other
    data (another network, another time) expect less: measure that with `evaluate --csv`. Encoder
    models are saved in the encoder/ folder of the model directory, beside the TF-IDF model.
    """
    from classifiers.evaluation import cross_validate, describe_cross_validation

    if folds == 1:
        raise click.UsageError("--folds must be 0 (measure nothing) or at least 2")
    _check_preset(preset, param_pairs, encoder_source)
    _refuse_unmigrated_live_dir(out_dir)
    with _clear_errors():
        texts, rows = data = _load_data(csv_path, text_column, label_column, positive, negative, format_name, sep)
        labels = tuple(data.summary["label_columns"])
        how = _recipe(preset, param_pairs, labels, name, encoder_source)
        metrics: dict[str, Any] = {"source": {**data.summary, "sha256": _csv_sha256(csv_path)},
                                   "preset": preset, "params_given": how.params}
        if folds:
            with _progressbar(folds, f"cross-validating ({len(texts)} rows)") as bar:
                result = cross_validate(texts, rows, folds=folds, seed=seed, labels=labels, params=how.params,
                                        progress=bar.update, trainer=how.train)
            metrics["cross_validation"] = {key: result[key] for key in ("folds", "seed", "rows", "labels")}
        click.echo(f"training the saved model on all {len(texts)} rows...", err=True)
        scorer = how.train(texts, rows)
        metrics["trained_on"] = "all rows"
        saved = scorer.save(out_dir / how.folder if how.folder else out_dir, metrics=metrics)

    _audit_if_live(out_dir, scorer, metrics)
    click.echo(f"version {scorer.version}")
    click.echo(f"rows {scorer.metadata['rows']} (labels: {', '.join(labels)}), all used to train the saved model")
    click.echo(describe_cross_validation(metrics.get("cross_validation")))
    click.echo(f"saved to {saved}; {saved.parent / 'CURRENT'} now names it")


def _refuse_unmigrated_live_dir(out_dir: Path) -> None:
    """Training into the app's MODEL_DIR must be audited: refuse before anything is written if it cannot be."""
    if not _is_live(out_dir):
        return
    import sqlalchemy

    try:
        ready = sqlalchemy.inspect(db.engine).has_table("audit_events")
    except sqlalchemy.exc.SQLAlchemyError as error:
        raise click.ClickException(f"{out_dir} is the app's MODEL_DIR and its database cannot be read "
                                   f"({type(error).__name__}); nothing was written") from None
    if not ready:
        raise click.ClickException(f"{out_dir} is the app's MODEL_DIR, whose changes are audited, but the database "
                                   "has no audit table: run `flask db upgrade` first; nothing was written")


def _is_live(out_dir: Path) -> bool:
    live = current_app.config.get("MODEL_DIR")
    return bool(live) and Path(live).resolve() == out_dir.resolve()


def _audit_if_live(out_dir: Path, scorer, metrics: dict[str, Any]) -> None:
    """A model saved into the app's MODEL_DIR changes what scores posts: that goes on the audit chain."""
    if not _is_live(out_dir):
        return
    source = metrics["source"]
    try:
        with transaction.atomic():
            audit.record(db.session, "model_trained", "model", scorer.version,
                         {"name": scorer.name, "rows": scorer.metadata["rows"], "source": source["file"],
                          "source_sha256": source["sha256"], "labels": list(scorer.labels)}, actor="cli")
    except Exception as error:  # noqa: BLE001 - the model is already current: say so plainly
        raise click.ClickException(f"model {scorer.version} is saved and current, but its audit event "
                                   f"could not be recorded: {error}") from None


# Which evaluate options apply to which way of evaluating; any other option given is an error.
_DATA_OPTIONS = ("text_column", "label_column", "positive", "negative", "format_name", "sep")
_FOLDS_ONLY = ("seed", "preset", "param_pairs", "encoder_source")
_SCORING_ONLY = ("model_dir", "thresholds", "calibrated", "scorer_kind", "scores_out")


def _given(ctx: click.Context, names: tuple[str, ...]) -> list[str]:
    """The options among names that the user gave on the command line, as they were spelled."""
    from click.core import ParameterSource

    given = []
    for param in ctx.command.params:
        if param.name in names and ctx.get_parameter_source(param.name) not in (None, ParameterSource.DEFAULT):
            given.append(param.opts[0])
    return given


def _refuse(ctx: click.Context, names: tuple[str, ...], why: str) -> None:
    given = _given(ctx, names)
    if given:
        raise click.UsageError(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply {why}")


@classifiers_cli.command("evaluate")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Model directory whose CURRENT model is evaluated (default: the app's MODEL_DIR).")
@_data_options
@click.option("--verdicts", is_flag=True, help="Evaluate against the jury's decided cases instead of a CSV.")
@click.option("--folds", type=click.IntRange(2, 50),
              help="Cross-validate a fresh model on the CSV with this many folds instead of scoring with --model.")
@click.option("--seed", default=0, show_default=True, help="Seed of the cross-validation folds (with --folds).")
@_model_options
@click.option("--threshold", "thresholds", multiple=True, type=click.FloatRange(0.0, 1.0),
              help="Threshold for the precision/recall table (repeatable; default 0.1 ... 0.9 and 0.95).")
@click.option("--calibrated", is_flag=True, help="Apply the model directory's calibration, as the app does.")
@click.option("--scorer", "scorer_kind", type=click.Choice(("sklearn", "encoder", "cascade")), default="sklearn",
              show_default=True, help="Which of the model directory's models scores, as SCORER names them.")
@click.option("--scores-out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write a CSV: each text's row number (from 1, in the order read), true labels and scores.")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
@click.pass_context
def evaluate_command(ctx, model_dir, csv_path, text_column, label_column, positive, negative, format_name, sep,
                     verdicts, folds, seed, preset, encoder_source, param_pairs, thresholds, calibrated, scorer_kind,
                     scores_out,
                     as_json) -> None:
    """Measure a model on a labelled CSV or on the jury's verdicts, or cross-validate on a CSV.

    Reports ROC-AUC, average precision, the Brier score, the expected calibration error (10 bins),
    a threshold table, and precision, recall, F1 and confusion counts at the policy's thresholds.
    """
    from classifiers.evaluation import DEFAULT_THRESHOLDS, cross_validate, evaluate, format_table

    if verdicts and (csv_path is not None or folds is not None):
        raise click.UsageError("--verdicts evaluates a model on decided cases: it takes no --csv or --folds")
    if not verdicts and csv_path is None:
        raise click.UsageError("give --csv FILE (with --folds to cross-validate), or --verdicts")
    if folds is not None:
        _refuse(ctx, _SCORING_ONLY, "with --folds, which trains fresh models instead of scoring one")
        _check_preset(preset, param_pairs, encoder_source)
    else:
        _refuse(ctx, _FOLDS_ONLY, "without --folds: they choose the fresh models that cross-validation trains")
    if verdicts:
        _refuse(ctx, _DATA_OPTIONS, "with --verdicts: they describe a CSV")

    with _clear_errors():
        if folds is not None:
            texts, rows = data = _load_data(csv_path, text_column, label_column, positive, negative,
                                            format_name, sep)
            labels = tuple(data.summary["label_columns"])
            how = _recipe(preset, param_pairs, labels, None, encoder_source)
            with _progressbar(folds, f"cross-validating ({len(texts)} rows)") as bar:
                result = cross_validate(texts, rows, folds=folds, seed=seed, labels=labels, params=how.params,
                                        progress=bar.update, trainer=how.train)
            result["source"] = data.summary
        else:
            scorer = _load_model(model_dir, calibrated, scorer_kind)
            texts, rows, source = _examples(scorer, verdicts, csv_path, text_column, label_column, positive,
                                            negative, format_name, sep)
            scores: list[dict[str, float]] = []
            with _progressbar(len(texts), "scoring") as bar:
                result = evaluate(scorer, texts, rows, tuple(thresholds) or DEFAULT_THRESHOLDS,
                                  progress=bar.update, policy_thresholds=_policy_thresholds(), scores_out=scores)
            result["source"] = source
            if scores_out is not None:
                from classifiers.metrics import write_scores_csv

                written = write_scores_csv(scores_out, rows, scores, list(result["labels"]))
                click.echo(f"wrote {written} rows of scores to {scores_out}", err=True)

    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        click.echo(format_table(result))


def _examples(scorer, verdicts: bool, csv_path, text_column, label_column, positive, negative, format_name, sep):
    """(texts, label rows, source summary) from the jury's verdicts or a labelled CSV."""
    if not verdicts:
        texts, rows = data = _load_data(csv_path, text_column, label_column, positive, negative, format_name, sep)
        return texts, rows, data.summary
    texts, rows = _verdict_examples()
    metadata = getattr(getattr(scorer, "base", scorer), "metadata", {})
    trained_on = int((metadata.get("metrics") or {}).get("verdicts", 0))
    if trained_on:
        click.echo(f"note: this model was trained on {trained_on} verdicts; figures on them are optimistic", err=True)
    return texts, rows, {"verdicts": len(texts)}


def _policy_thresholds() -> dict[str, dict[str, float]]:
    """The auto-flag and interim-hide thresholds of the policy in force (the defaults before any is stored)."""
    settings = _policy_settings()
    return {group: dict(settings.get(group, {})) for group in ("auto_flag", "interim_hide")}


def _policy_settings() -> dict[str, Any]:
    """The settings of the policy in force, read without creating a version: evaluating writes nothing."""
    settings = latest_settings()
    if settings is None:
        click.echo("note: no policy in the database; the default settings are used", err=True)
        settings = DEFAULT_SETTINGS
    return settings


def _load_model(model_dir: Path | None, calibrated: bool, kind: str = "sklearn"):
    """The current model of model_dir (default: the app's), optionally with its calibration."""
    from classifiers import SklearnScorer, load_encoder_scorer
    from classifiers.cascade import CascadeScorer

    root = model_dir or Path(current_app.config["MODEL_DIR"])
    if kind == "encoder":
        scorer = load_encoder_scorer(root)
    elif kind == "cascade":  # both models must exist: evaluating never trains one
        scorer = CascadeScorer(SklearnScorer.load(root), load_encoder_scorer(root), _policy_band())
    else:
        scorer = SklearnScorer.load(root)
    if calibrated:
        from classifiers.calibration import with_calibration

        wrapped = with_calibration(scorer, root)
        if wrapped is scorer:
            click.echo(f"note: no calibration for {scorer.name}:{scorer.version} in {root}; raw scores used",
                       err=True)
        return wrapped
    return scorer


def _policy_band() -> tuple[float, float]:
    """The policy's cascade band (the default before any policy is stored)."""
    band = _policy_settings().get("cascade_band", DEFAULT_SETTINGS["cascade_band"])
    return float(band["low"]), float(band["high"])


def _verdict_examples() -> tuple[list[str], list[dict[str, int]]]:
    """The jury's decided cases as labelled examples, exactly as retraining uses them."""
    texts, rows = verdict_examples()
    if not texts:
        raise click.ClickException("no decided cases yet: there are no verdicts to evaluate against")
    return texts, rows


@classifiers_cli.command("retrain")
@click.option("--force", is_flag=True, help="Retrain even if too few new verdicts arrived.")
def retrain_command(force: bool) -> None:
    """Queue retraining of the site model on the jury's verdicts (then recalibration), on the training queue."""
    training.queue_retraining(force)
    click.echo("retraining queued" if jobs.redis_connection() else "retraining done (jobs run inline)")


@classifiers_cli.command("calibrate")
def calibrate_command() -> None:
    """Fit the configured scorer's calibration on the jury's verdicts now."""
    version = training.calibrate(actor="cli")
    if version is None:
        raise click.ClickException("too few verdicts to calibrate on yet")
    click.echo(f"calibration {version} written")
