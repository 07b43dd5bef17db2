"""`flask classifiers ...`: train a scikit-learn model on a labelled CSV, evaluate models on CSVs or verdicts.

Progress goes to stderr, results to stdout (with --json, stdout holds the JSON and nothing else).
scikit-learn is imported inside the commands: registering them must not slow every `flask` call.
"""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import click
from flask import current_app
from flask.cli import AppGroup

classifiers_cli = AppGroup("classifiers", help="Train and evaluate toxicity classifiers.")

FORMAT_NAMES = ("davidson", "mlma", "jigsaw")
PRESET_NAMES = ("plain", "nb", "small", "fr")  # the keys of classifiers.evaluation.PARAM_PRESETS


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
                     help="Parameter set: plain TF-IDF; nb (naive-Bayes weighted, large English sets); "
                          "small (nb, stronger regularisation, a few thousand rows); fr (small, accents kept)."),
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


def _params(preset: str, pairs: tuple[str, ...]) -> dict[str, Any]:
    """The preset's parameters with the --param overrides on top."""
    from classifiers.evaluation import PARAM_PRESETS

    params = dict(PARAM_PRESETS[preset])
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


def _progressbar(length: int, label: str):
    """A progress bar on stderr, so stdout stays clean for results."""
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)




def _csv_sha256(path: Path) -> str:
    from classifiers.base import file_sha256  # here: importing classifiers loads scikit-learn

    return file_sha256(path)


def _headline(labels: dict[str, Any]) -> str:
    """"toxicity 0.986, threat 0.912" from an evaluation's labels."""
    parts = []
    for label, metrics in labels.items():
        auc = metrics.get("roc_auc")
        parts.append(f"{label} {auc:.3f}" if auc is not None else f"{label} undefined ({metrics.get('reason')})")
    return ", ".join(parts)


@classifiers_cli.command("train")
@_data_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Model directory: the model is saved in a new version folder and CURRENT points at it.")
@_model_options
@click.option("--name", default="sklearn-tfidf", show_default=True, help="Model name stored in its metadata.")
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0.0, 0.9),
              help="Fraction held out to measure the model (0: measure nothing).")
@click.option("--seed", default=0, show_default=True, help="Seed of the held-out split.")
@click.option("--refit-full", is_flag=True,
              help="After measuring on the held-out rows, train the saved model on every row.")
def train_command(csv_path, text_column, label_column, positive, negative, format_name, sep, out_dir,
                  preset, param_pairs, name, holdout, seed, refit_full) -> None:
    """Train a TF-IDF + logistic-regression model on a labelled CSV and save it as the current model."""
    from classifiers import SklearnScorer
    from classifiers.evaluation import evaluate, holdout_split

    params = _params(preset, param_pairs)
    with _clear_errors():
        texts, rows = data = _load_data(csv_path, text_column, label_column, positive, negative, format_name, sep)
        labels = tuple(data.summary["label_columns"])
        metrics: dict[str, Any] = {
            "source": {**data.summary, "sha256": _csv_sha256(csv_path)},
            "preset": preset,
            "params_given": params,
        }
        train_idx, test_idx = list(range(len(texts))), []
        if holdout > 0:
            train_idx, test_idx = holdout_split(rows, holdout, seed, stratify_label=labels[0])

        click.echo(f"training on {len(train_idx)} rows...", err=True)
        scorer = SklearnScorer.train([texts[i] for i in train_idx], [rows[i] for i in train_idx],
                                     name=name, labels=labels, params=params)
        if test_idx:
            held_texts = [texts[i] for i in test_idx]
            with _progressbar(len(held_texts), "scoring held-out rows") as bar:
                result = evaluate(scorer, held_texts, [rows[i] for i in test_idx], progress=bar.update)
            metrics["holdout"] = {"fraction": holdout, "seed": seed, "rows": len(test_idx),
                                  "train_rows": len(train_idx), "labels": result["labels"]}
        if refit_full and test_idx:
            click.echo(f"training the saved model on all {len(texts)} rows...", err=True)
            scorer = SklearnScorer.train(texts, rows, name=name, labels=labels, params=params)
        metrics["trained_on"] = "all rows" if (refit_full or not test_idx) else "rows not held out"
        saved = scorer.save(out_dir, metrics=metrics)

    _audit_if_live(out_dir, scorer, metrics)
    click.echo(f"version {scorer.version}")
    click.echo(f"rows {scorer.metadata['rows']} (labels: {', '.join(labels)})")
    if "holdout" in metrics:
        click.echo(f"held-out ROC-AUC ({len(test_idx)} rows): {_headline(metrics['holdout']['labels'])}")
    else:
        click.echo("held-out ROC-AUC: not measured (--holdout 0)")
    click.echo(f"saved to {saved}; {out_dir / 'CURRENT'} now names it")


def _audit_if_live(out_dir: Path, scorer, metrics: dict[str, Any]) -> None:
    """A model saved into the app's MODEL_DIR changes what scores posts: that goes on the audit chain."""
    live = current_app.config.get("MODEL_DIR")
    if not live or Path(live).resolve() != out_dir.resolve():
        return
    import audit
    from models import db

    source = metrics["source"]
    try:
        audit.record(db.session, "model_trained", "model", scorer.version,
                     {"name": scorer.name, "rows": scorer.metadata["rows"], "source": source["file"],
                      "source_sha256": source["sha256"], "labels": list(scorer.labels)}, actor="cli")
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - the model is already current: say so plainly
        db.session.rollback()
        raise click.ClickException(f"model {scorer.version} is saved and current, but its audit event "
                                   f"could not be recorded: {error}") from None


@classifiers_cli.command("evaluate")
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Model directory whose CURRENT model is evaluated (default: the app's MODEL_DIR).")
@_data_options
@click.option("--verdicts", is_flag=True, help="Evaluate against the jury's decided cases instead of a CSV.")
@click.option("--folds", type=click.IntRange(2, 50),
              help="Cross-validate a fresh model on the CSV with this many folds instead of scoring with --model.")
@click.option("--seed", default=0, show_default=True, help="Seed of the cross-validation folds.")
@_model_options
@click.option("--threshold", "thresholds", multiple=True, type=click.FloatRange(0.0, 1.0),
              help="Threshold for the precision/recall table (repeatable; default 0.1 ... 0.9 and 0.95).")
@click.option("--calibrated", is_flag=True, help="Apply the model directory's calibration, as the app does.")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
def evaluate_command(model_dir, csv_path, text_column, label_column, positive, negative, format_name, sep,
                     verdicts, folds, seed, preset, param_pairs, thresholds, calibrated, as_json) -> None:
    """Measure a model on a labelled CSV or on the jury's verdicts, or cross-validate on a CSV."""
    from classifiers.evaluation import DEFAULT_THRESHOLDS, cross_validate, evaluate, format_table

    if verdicts and (csv_path is not None or folds is not None):
        raise click.UsageError("--verdicts evaluates a model on decided cases: it takes no --csv or --folds")
    if not verdicts and csv_path is None:
        raise click.UsageError("give --csv FILE (with --folds to cross-validate), or --verdicts")

    with _clear_errors():
        if folds is not None:
            if model_dir is not None:
                click.echo("note: --folds trains fresh models; --model is not used", err=True)
            texts, rows = data = _load_data(csv_path, text_column, label_column, positive, negative,
                                            format_name, sep)
            labels = tuple(data.summary["label_columns"])
            with _progressbar(folds, f"cross-validating ({len(texts)} rows)") as bar:
                result = cross_validate(texts, rows, folds=folds, seed=seed, labels=labels,
                                        params=_params(preset, param_pairs), progress=bar.update)
            result["source"] = data.summary
        else:
            scorer = _load_model(model_dir, calibrated)
            if verdicts:
                texts, rows = _verdict_examples()
                source: dict[str, Any] = {"verdicts": len(texts)}
                metadata = getattr(getattr(scorer, "base", scorer), "metadata", {})
                trained_on = int((metadata.get("metrics") or {}).get("verdicts", 0))
                if trained_on:
                    click.echo(f"note: this model was trained on {trained_on} verdicts; "
                               "figures on them are optimistic", err=True)
            else:
                texts, rows = data = _load_data(csv_path, text_column, label_column, positive, negative,
                                                format_name, sep)
                source = data.summary
            with _progressbar(len(texts), "scoring") as bar:
                result = evaluate(scorer, texts, rows, tuple(thresholds) or DEFAULT_THRESHOLDS,
                                  progress=bar.update)
            result["source"] = source

    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        click.echo(format_table(result))


def _load_model(model_dir: Path | None, calibrated: bool):
    """The current model of model_dir (default: the app's), optionally with its calibration."""
    from classifiers import SklearnScorer

    root = model_dir or Path(current_app.config["MODEL_DIR"])
    scorer = SklearnScorer.load(root)
    if calibrated:
        from classifiers.calibration import with_calibration

        wrapped = with_calibration(scorer, root)
        if wrapped is scorer:
            click.echo(f"note: no calibration for {scorer.name}:{scorer.version} in {root}; raw scores used",
                       err=True)
        return wrapped
    return scorer


def _verdict_examples() -> tuple[list[str], list[dict[str, int]]]:
    """The jury's decided cases as labelled examples, exactly as retraining uses them."""
    from triage.training import verdict_examples

    texts, rows = verdict_examples()
    if not texts:
        raise click.ClickException("no decided cases yet: there are no verdicts to evaluate against")
    return texts, rows


@classifiers_cli.command("retrain")
@click.option("--force", is_flag=True, help="Retrain even if too few new verdicts arrived.")
def retrain_command(force: bool) -> None:
    """Queue retraining of the site model on the jury's verdicts (then recalibration), on the training queue."""
    from triage import jobs

    jobs.defer("training", "jury.tasks.retrain_model", force)
    jobs.commit()
    click.echo("retraining queued" if jobs.redis_connection() else "retraining done (jobs run inline)")


@classifiers_cli.command("calibrate")
def calibrate_command() -> None:
    """Fit the configured scorer's calibration on the jury's verdicts now."""
    from triage import training

    version = training.calibrate(actor="cli")
    if version is None:
        raise click.ClickException("too few verdicts to calibrate on yet")
    click.echo(f"calibration {version} written")
