"""`flask classifiers train|evaluate`: CSV training and evaluation, cross-validation, verdicts, clear errors."""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from sqlalchemy import select

from jury import voting
from models import db
from models import AuditEvent, Verdict
from tests.conftest import post_payload, report_payload
from triage import dealing

GOOD = ["lovely", "thanks", "great", "sunny", "friendly", "kind", "delicious", "welcome", "congrats", "cheerful"]
BAD = ["idiot", "moron", "trash", "pathetic", "loser", "scum", "stupid", "worthless", "filthy", "clown"]
FILLER = ["the", "a", "today", "really", "post", "about", "this", "that", "people", "we"]


def labelled_csv(path: Path, n: int = 200, delimiter: str = ",", seed: int = 0) -> Path:
    """A generated labelled file: toxic texts use insults, others friendly words; some span lines."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(["id", "text", "label"])
        for i in range(n):
            toxic = i % 3 == 0
            words = rng.sample(BAD if toxic else GOOD, 2) + rng.sample(FILLER, 4)
            text = " ".join(words)
            if i % 10 == 0:
                text = f'"{text}"\nsecond line, with a comma'
            writer.writerow([i, text, "toxic" if toxic else "ok"])
    return path


@pytest.fixture
def cli(sqlite_app):
    """A CLI runner (the app registers `flask classifiers`)."""
    return sqlite_app.test_cli_runner()


def train_args(csv_path: Path, out: Path, *extra: str) -> list[str]:
    return ["classifiers", "train", "--csv", str(csv_path), "--text-column", "text", "--label-column", "label",
            "--positive", "toxic", "--out", str(out), *extra]


def test_train_saves_a_current_model_with_held_out_metrics(cli, tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "posts.csv")
    result = cli.invoke(args=train_args(data, tmp_path / "models"))
    assert result.exit_code == 0, result.output
    version = (tmp_path / "models" / "CURRENT").read_text().strip()
    assert f"version {version}" in result.stdout
    assert "rows 160" in result.stdout
    assert "held-out ROC-AUC (40 rows): toxicity" in result.stdout
    assert "read 200 rows" in result.stderr and "read 200 rows" not in result.stdout

    metadata = json.loads((tmp_path / "models" / version / "metadata.json").read_text())
    assert metadata["labels"] == ["toxicity"] and metadata["rows"] == 160
    holdout = metadata["metrics"]["holdout"]
    assert holdout["rows"] == 40 and holdout["labels"]["toxicity"]["roc_auc"] > 0.95
    assert metadata["metrics"]["source"]["file"] == "posts.csv"
    assert len(metadata["metrics"]["source"]["sha256"]) == 64
    assert metadata["metrics"]["trained_on"] == "rows not held out"


def test_train_options_refit_preset_param_and_tsv(cli, tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "posts.txt", delimiter="\t")
    result = cli.invoke(args=train_args(data, tmp_path / "models", "--sep", "TAB", "--refit-full", "--preset", "fr",
                                        "--param", "C=0.5", "--name", "site-fr"))
    assert result.exit_code == 0, result.output
    assert "rows 200" in result.stdout
    version = (tmp_path / "models" / "CURRENT").read_text().strip()
    metadata = json.loads((tmp_path / "models" / version / "metadata.json").read_text())
    assert metadata["name"] == "site-fr"
    assert metadata["params"]["C"] == 0.5 and metadata["params"]["strip_accents"] is None
    assert metadata["params"]["nb_weighting"] is True
    assert metadata["metrics"]["trained_on"] == "all rows"


def test_train_jigsaw_format_is_multi_label(cli, tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    rng = random.Random(1)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "comment_text", "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"])
        for i in range(60):
            toxic = i % 2
            writer.writerow([i, " ".join(rng.sample(BAD if toxic else GOOD, 3)), toxic, 0, 0, toxic * (i % 4 == 1),
                             toxic, 0])
    result = cli.invoke(args=["classifiers", "train", "--csv", str(path), "--format", "jigsaw",
                              "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "labels: toxicity, severe_toxicity, obscene, threat, insult, identity_attack" in result.stdout
    assert "severe_toxicity undefined" in result.stdout


def test_evaluate_json_and_table(cli, tmp_path: Path) -> None:
    cli.invoke(args=train_args(labelled_csv(tmp_path / "train.csv"), tmp_path / "models"))
    fresh = labelled_csv(tmp_path / "fresh.csv", n=90, seed=7)
    args = ["classifiers", "evaluate", "--model", str(tmp_path / "models"), "--csv", str(fresh),
            "--text-column", "text", "--label-column", "label", "--positive", "toxic"]
    as_json = cli.invoke(args=[*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    toxicity = report["labels"]["toxicity"]
    assert report["rows"] == 90 and toxicity["positives"] == 30
    assert toxicity["roc_auc"] > 0.95 and len(toxicity["thresholds"]) == 10
    assert report["source"]["file"] == "fresh.csv"

    table = cli.invoke(args=[*args, "--threshold", "0.5", "--threshold", "0.8"])
    assert table.exit_code == 0, table.output
    assert "ROC-AUC" in table.stdout and "precision" in table.stdout
    assert "0.50" in table.stdout and "0.80" in table.stdout and "0.95" not in table.stdout


def test_evaluate_folds_cross_validates_a_fresh_model(cli, tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "posts.csv", n=120)
    result = cli.invoke(args=["classifiers", "evaluate", "--csv", str(data), "--text-column", "text",
                              "--label-column", "label", "--negative", "ok", "--folds", "3", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kind"] == "cross_validation" and report["folds"] == 3
    assert len(report["labels"]["toxicity"]["roc_auc"]["per_fold"]) == 3
    assert report["labels"]["toxicity"]["roc_auc"]["mean"] > 0.95


def test_missing_columns_are_a_clear_error(cli, tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "posts.csv")
    result = cli.invoke(args=["classifiers", "train", "--csv", str(data), "--text-column", "body",
                              "--label-column", "verdict", "--out", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert "missing columns 'body', 'verdict'; columns present: 'id', 'text', 'label'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["evaluate", "--model", "{tmp}/nowhere", "--csv", "{csv}", "--text-column", "text", "--label-column", "label"],
         "does not exist"),
        (["evaluate", "--model", "{tmp}", "--csv", "{csv}", "--text-column", "text", "--label-column", "label"],
         "CURRENT is missing"),
        (["evaluate", "--csv", "{tmp}/absent.csv", "--text-column", "text", "--label-column", "label", "--folds", "3"],
         "cannot read"),
        (["train", "--csv", "{csv}", "--text-column", "text", "--label-column", "label", "--out", "{tmp}/m",
          "--param", "depth=3"], "unknown parameter"),
        (["evaluate", "--csv", "{csv}", "--text-column", "text", "--label-column", "label", "--positive", "toxic",
          "--folds", "50"], "50 folds need at least 50 rows"),
    ],
)
def test_errors_exit_1_with_the_message(cli, tmp_path: Path, args: list[str], message: str) -> None:
    data = labelled_csv(tmp_path / "posts.csv", n=60)
    args = [a.format(tmp=tmp_path, csv=data) for a in args]
    result = cli.invoke(args=["classifiers", *args])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


def test_usage_errors(cli, tmp_path: Path) -> None:
    assert cli.invoke(args=["classifiers", "evaluate"]).exit_code == 2
    data = labelled_csv(tmp_path / "posts.csv", n=30)
    both = cli.invoke(args=["classifiers", "evaluate", "--verdicts", "--csv", str(data)])
    assert both.exit_code == 2 and "--verdicts" in both.output
    no_columns = cli.invoke(args=["classifiers", "train", "--csv", str(data), "--out", str(tmp_path / "m")])
    assert no_columns.exit_code == 2 and "--text-column" in no_columns.output


def test_training_into_the_live_model_dir_is_audited(cli, sqlite_app, tmp_path: Path) -> None:
    live = tmp_path / "live-models"
    sqlite_app.config["MODEL_DIR"] = str(live)
    result = cli.invoke(args=train_args(labelled_csv(tmp_path / "posts.csv"), live))
    assert result.exit_code == 0, result.output
    version = (live / "CURRENT").read_text().strip()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "model_trained"))
    assert event.subject_id == version and event.actor == "cli"
    assert event.payload["source"] == "posts.csv"
    # Elsewhere, nothing is recorded.
    cli.invoke(args=train_args(labelled_csv(tmp_path / "other.csv", seed=3), tmp_path / "scratch"))
    assert db.session.query(AuditEvent).filter_by(event_type="model_trained").count() == 1


def test_evaluate_against_the_jury_verdicts(app, api, make_user) -> None:
    runner = app.test_cli_runner()
    jurors = [make_user(f"juror{i}", network_account_id=f"net-juror-{i}") for i in range(3)]
    posts = [
        ("p1", "I know where you live and I will kill you tonight", "remove"),
        ("p2", "you are a pathetic worthless idiot", "remove"),
        ("p3", "the band killed it at the festival, so much fun", "keep"),
        ("p4", "does anyone know a good bakery near the station?", "keep"),
    ]
    for pid, text, decision in posts:
        api.posts(post_payload(pid, text))
        api.reports(report_payload(f"r-{pid}", pid, reason="harassment"))
        for juror in jurors:
            assignment = dealing.deal_next(juror)
            assert assignment is not None
            voting.cast_vote(assignment.case_id, juror, decision, "harassment" if decision == "remove" else None)
    assert sorted(db.session.scalars(select(Verdict.outcome))) == ["keep", "keep", "remove", "remove"]

    result = runner.invoke(args=["classifiers", "evaluate", "--model", app.config["MODEL_DIR"], "--verdicts",
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    toxicity = report["labels"]["toxicity"]
    assert report["rows"] == 4 and toxicity["positives"] == 2
    assert report["source"] == {"verdicts": 4}
    assert toxicity["roc_auc"] >= 0.75  # the seed model ranks the removed posts higher


def test_evaluate_verdicts_without_any(cli) -> None:
    result = cli.invoke(args=["classifiers", "evaluate", "--verdicts"])
    assert result.exit_code == 1 and "no decided cases" in result.output


def test_cli_choices_match_the_library() -> None:
    from classifiers.datasets import FORMATS
    from classifiers.evaluation import PARAM_PRESETS
    from jury.cli.classifiers import FORMAT_NAMES, PRESET_NAMES

    assert set(FORMAT_NAMES) == set(FORMATS)
    assert list(PRESET_NAMES) == list(PARAM_PRESETS)


def test_retrain_and_calibrate_commands(app, api, make_user, tmp_path, monkeypatch) -> None:
    from classifiers import ensure_default_model
    from triage import scoring

    app.config["MODEL_DIR"] = str(tmp_path / "models")
    ensure_default_model(app.config["MODEL_DIR"])
    scoring.forget_scorers()
    runner = app.test_cli_runner()
    assert "too few verdicts" in runner.invoke(args=["classifiers", "calibrate"]).output
    before = (tmp_path / "models" / "CURRENT").read_text()
    result = runner.invoke(args=["classifiers", "retrain", "--force"])
    assert result.exit_code == 0 and "retraining done" in result.output
    assert (tmp_path / "models" / "CURRENT").read_text() != before
    scoring.forget_scorers()
