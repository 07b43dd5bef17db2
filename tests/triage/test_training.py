"""Retraining the site model from the jury's verdicts, on the `training` queue."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from classifiers import SklearnScorer, ensure_default_model
from jury.panels import voting
from models import AuditEvent, Score, db
from tests.conftest import post_payload, report_payload
from triage import dealing, intake, training


@pytest.fixture
def model_dir(app, tmp_path):
    """A model folder of this test's own (retraining writes to it)."""
    path = tmp_path / "models"
    ensure_default_model(path)
    app.config["MODEL_DIR"] = str(path)
    app.config["RETRAIN_MIN_INTERVAL_MINUTES"] = 0  # the tests below decide within seconds of training
    intake.forget_scorers()
    yield path
    intake.forget_scorers()


# Mild phrasing the seed corpus never saw: only the jury can teach the model this network's norm.
NORM = "go back to the swamp, frogface"


def decide(api, jurors, index: int, text: str, decision: str, rule: str | None = None) -> None:
    api.posts(post_payload(f"p{index}", text))
    api.reports(report_payload(f"r{index}", f"p{index}", reason=rule or "other"))
    for juror in jurors:
        assignment = dealing.deal_next(juror)
        voting.cast_vote(assignment.case_id, juror, decision, rule if decision == "remove" else None)


def test_enough_verdicts_retrain_the_model_and_new_posts_use_it(app, api, make_user, model_dir):
    app.config["RETRAIN_MIN_VERDICTS"] = 6
    jurors = [make_user(f"juror{i}") for i in range(3)]
    before = SklearnScorer.load(model_dir)
    for i in range(6):
        decide(api, jurors, i, f"{NORM} number {i}", "remove", "harassment")
    # The sixth verdict queued the training job, which ran inline: a new current model.
    after = SklearnScorer.load(model_dir)
    assert after.version != before.version and after.name == training.SITE_MODEL_NAME
    assert after.metadata["metrics"]["verdicts"] == 6
    assert "model_trained" in set(db.session.scalars(select(AuditEvent.event_type)))
    assert after.score([NORM])[0]["insult"] > before.score([NORM])[0]["insult"]
    # New posts are scored with the new version, and say so.
    api.posts(post_payload("later", f"{NORM} again"))
    assert db.session.scalar(select(Score.model_version).order_by(Score.id.desc())) == after.version
    # Not due again until enough further verdicts arrive.
    assert training.retrain() is None


def test_few_verdicts_do_not_retrain(app, api, make_user, model_dir):
    app.config["RETRAIN_MIN_VERDICTS"] = 50
    jurors = [make_user(f"juror{i}") for i in range(3)]
    before = (Path(model_dir) / "CURRENT").read_text()
    decide(api, jurors, 0, "hello there", "keep")
    assert (Path(model_dir) / "CURRENT").read_text() == before
    assert training.retraining_due() is False


def _trained_ago(model_dir: Path, minutes: float) -> None:
    """Date the model in use as trained `minutes` ago (its metadata's created_at)."""
    meta_path = Path(model_dir) / (Path(model_dir) / "CURRENT").read_text().strip() / "metadata.json"
    metadata = json.loads(meta_path.read_text())
    metadata["created_at"] = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")
    meta_path.write_text(json.dumps(metadata))


def test_retraining_waits_for_the_interval_since_the_model_in_use_was_trained(app, api, make_user, model_dir):
    app.config.update(RETRAIN_MIN_VERDICTS=2, RETRAIN_MIN_INTERVAL_MINUTES=60)
    jurors = [make_user(f"juror{i}") for i in range(3)]
    before = (Path(model_dir) / "CURRENT").read_text()
    _trained_ago(model_dir, 59)
    for i in range(3):
        decide(api, jurors, i, f"{NORM} number {i}", "remove", "harassment")
    # Enough verdicts, but the model is not an hour old: nothing queued, nothing trained.
    assert (Path(model_dir) / "CURRENT").read_text() == before
    assert training.retraining_due() is False and training.retrain() is None
    _trained_ago(model_dir, 61)
    assert training.retraining_due() is True
    # The next verdict queues it (inline here) and the new model restarts the clock.
    decide(api, jurors, 3, f"{NORM} number 3", "remove", "harassment")
    after = (Path(model_dir) / "CURRENT").read_text()
    assert after != before
    assert training.retraining_due() is False
    for i in range(4, 7):
        decide(api, jurors, i, f"{NORM} number {i}", "remove", "harassment")
    assert (Path(model_dir) / "CURRENT").read_text() == after


def test_a_lead_can_retrain_before_the_interval(app, api, make_user, model_dir):
    app.config.update(RETRAIN_MIN_VERDICTS=1, RETRAIN_MIN_INTERVAL_MINUTES=60)
    jurors = [make_user(f"juror{i}") for i in range(3)]
    decide(api, jurors, 0, f"{NORM} number 0", "remove", "harassment")
    before = (Path(model_dir) / "CURRENT").read_text()
    assert training.retraining_due() is False  # a verdict waits, but the model is minutes old
    assert training.retrain(force=True) is not None
    assert (Path(model_dir) / "CURRENT").read_text() != before


@pytest.mark.parametrize("name", ["RETRAIN_MIN_INTERVAL_MINUTES", "REESTIMATE_MIN_INTERVAL_MINUTES"])
@pytest.mark.parametrize("value", ["soon", "-5", "nan"])
def test_a_bad_retraining_or_reestimation_interval_is_refused_at_start(monkeypatch, tmp_path, name, value):
    from jury.config import ConfigError, load_config

    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name}='{value}'"):
        load_config(tmp_path)
    monkeypatch.setenv(name, "0")
    assert load_config(tmp_path)[name] == 0.0


def test_verdict_examples_map_rules_to_labels(app, api, make_user, model_dir):
    app.config["RETRAIN_MIN_VERDICTS"] = 1000
    jurors = [make_user(f"juror{i}") for i in range(3)]
    decide(api, jurors, 0, "I will find you", "remove", "violence_threat")
    decide(api, jurors, 1, "buy followers", "remove", "spam")
    decide(api, jurors, 2, "nice day", "keep")
    texts, rows = training.verdict_examples()
    assert texts == ["I will find you", "nice day"]  # the spam removal teaches nothing about toxicity
    assert rows[0]["threat"] == 1 and rows[0]["toxicity"] == 1 and rows[0]["insult"] == 0
    assert set(rows[1].values()) == {0}


def test_a_lead_can_start_retraining(app, client, auth, make_user, model_dir):
    make_user("juror0")
    make_user("boss", role="lead")
    app.config.update(RETRAIN_MIN_VERDICTS=150, RETRAIN_MIN_INTERVAL_MINUTES=90)
    before = (Path(model_dir) / "CURRENT").read_text()
    auth.login("boss")
    # The overview says when the model retrains on its own.
    overview = " ".join(client.get("/lead/").get_data(as_text=True).split())
    assert "once 150 new ones exist, at most once every 90 minutes" in overview
    auth.logout()
    auth.login("juror0")
    assert client.post("/lead/retrain").status_code == 403
    auth.logout()
    auth.login("boss")
    assert client.post("/lead/retrain").status_code == 302
    assert (Path(model_dir) / "CURRENT").read_text() != before


def test_retraining_also_calibrates_and_scores_say_so(app, api, make_user, model_dir, monkeypatch):
    monkeypatch.setattr("classifiers.calibration.MIN_EXAMPLES", 6)
    app.config["RETRAIN_MIN_VERDICTS"] = 8
    jurors = [make_user(f"juror{i}") for i in range(3)]
    for i in range(4):
        decide(api, jurors, i, f"{NORM} number {i}", "remove", "harassment")
    for i in range(4, 8):
        decide(api, jurors, i, f"a perfectly pleasant remark number {i}", "keep")
    assert (Path(model_dir) / "calibration.json").exists()
    assert "model_calibrated" in set(db.session.scalars(select(AuditEvent.event_type)))
    api.posts(post_payload("later", "another pleasant remark"))
    name = db.session.scalar(select(Score.model_name).order_by(Score.id.desc()))
    assert name == f"{training.SITE_MODEL_NAME}+calibrated"


def test_a_model_a_lead_trained_from_a_csv_is_not_replaced_automatically(app, api, make_user, model_dir):
    from classifiers.seed_corpus import seed_corpus

    texts, rows = seed_corpus()
    SklearnScorer.train(texts[:400], rows[:400], name="sklearn-davidson").save(model_dir)
    app.config["RETRAIN_MIN_VERDICTS"] = 1
    jurors = [make_user(f"juror{i}") for i in range(3)]
    decide(api, jurors, 0, "hello there", "keep")
    assert SklearnScorer.load(model_dir).name == "sklearn-davidson"
    assert training.retrain(force=True) is not None  # a lead can still ask for it


def test_many_verdicts_queue_one_retraining_until_it_has_run(app, api, make_user, model_dir, redis_url):
    from rq import Queue

    from jury.tasks.worker import JobWorker
    from triage import jobs

    app.config["REDIS_URL"] = redis_url  # jobs wait on Redis instead of running inline
    app.config["RETRAIN_MIN_VERDICTS"] = 2
    connection = jobs.redis_connection()
    training_queue = Queue("training", connection=connection)

    def follow_up_verdicts():
        """The verdicts' follow-up jobs (where the retraining check runs), worked in this process."""
        JobWorker([Queue("actions", connection=connection)], connection=connection).work(burst=True)

    jurors = [make_user(f"juror{i}") for i in range(3)]
    for i in range(2):
        decide(api, jurors, i, f"{NORM} number {i}", "remove", "harassment")
    follow_up_verdicts()
    # Once due, every further verdict would ask again: one job waits, not one per verdict.
    assert training.retraining_due() and training_queue.count == 1
    decide(api, jurors, 2, f"{NORM} number 2", "remove", "harassment")
    follow_up_verdicts()
    assert training_queue.count == 1
    # The job runs (here, in this process) and says it is done; the next due retraining queues again.
    training_queue.empty()
    version = training.retrain_job(False)
    assert version is not None and not training.retraining_due()
    for i in range(3, 5):
        decide(api, jurors, i, f"{NORM} number {i}", "keep")
    follow_up_verdicts()
    assert training_queue.count == 1
