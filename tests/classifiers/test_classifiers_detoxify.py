"""The detoxify scorer, on a tiny random-weight BERT checkpoint built offline once per module."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from classifiers import LABELS, Scorer, ScorerError
from classifiers.scorer import ModelNotFoundError

try:
    import detoxify  # noqa: F401
    import torch
    import transformers
except ImportError as exc:  # pragma: no cover - depends on the environment
    _MESSAGE = (
        f"the detoxify scorer tests need torch, transformers and detoxify ({exc}); pip install -r requirements.txt"
    )
    if os.environ.get("CI", "").lower() == "true":
        # CI must never pass by skipping the scorer it ships.
        pytest.fail(_MESSAGE, pytrace=False)
    pytest.skip(_MESSAGE, allow_module_level=True)

from classifiers.detoxify_model import DetoxifyScorer, load_detoxify

# The Jigsaw 2018 column names, as the published "original" checkpoint stores them.
JIGSAW_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
WORDS = ["you", "are", "an", "idiot", "stupid", "hate", "kill", "love", "have", "nice", "day", "the", "people"]
VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    *"abcdefghijklmnopqrstuvwxyz0123456789!?.,'@#",
    *(f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"),
    *WORDS,
]
PROBE = [
    "you are an idiot",
    "have a nice day",
    "I will kill you",
    "people",
    "Stupid stupid STUPID",
    "the the the the the the the the the the the the",
]


def _assert_valid(scores: list[dict[str, float]], labels: tuple[str, ...], n: int) -> None:
    assert len(scores) == n
    for row in scores:
        assert set(row) == set(labels)
        assert all(type(v) is float and 0.0 <= v <= 1.0 for v in row.values()), row


def _save_config_dir(folder: Path, num_labels: int) -> Path:
    """A saved config and tokenizer, as save_pretrained writes them (no weights needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder.parent / f"{folder.name}-vocab.txt"
    vocab_file.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    # No model_max_length on purpose: the scorer must still truncate long posts.
    transformers.BertTokenizer(str(vocab_file)).save_pretrained(folder)
    _tiny_config(num_labels).save_pretrained(folder)
    vocab_file.unlink()
    return folder


def _tiny_config(num_labels: int) -> Any:
    return transformers.BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        num_labels=num_labels,
        # Large random weights, so different texts get visibly different scores.
        initializer_range=0.5,
    )


def _checkpoint(model_type: str, classes: list[str], seed: int = 0) -> dict[str, Any]:
    """A checkpoint dict in detoxify's format around a random tiny BERT."""
    torch.manual_seed(seed)
    model = transformers.BertForSequenceClassification(_tiny_config(len(classes)))
    return {
        "config": {
            "arch": {
                "args": {
                    "model_type": model_type,
                    "model_name": "BertForSequenceClassification",
                    "tokenizer_name": "BertTokenizer",
                    "num_classes": len(classes),
                }
            },
            "dataset": {"args": {"classes": list(classes)}},
        },
        "state_dict": model.state_dict(),
    }


@pytest.fixture(scope="module", autouse=True)
def offline(tmp_path_factory: pytest.TempPathFactory):
    """No Hugging Face network access, and a torch hub cache that holds no published checkpoint."""
    import huggingface_hub.constants

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch-home")))
        # huggingface_hub reads the variable once, at import.
        mp.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        yield


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, offline) -> SimpleNamespace:
    """model_dir/detoxify/ holding a tiny checkpoint, its config folder and detoxify.json."""
    model_dir = tmp_path_factory.mktemp("models")
    folder = model_dir / "detoxify"
    config_dir = _save_config_dir(folder / "tiny-bert", num_labels=6)
    checkpoint = _checkpoint(str(config_dir), JIGSAW_CLASSES)
    checkpoint_path = folder / "tiny.ckpt"
    torch.save(checkpoint, checkpoint_path)
    (folder / "detoxify.json").write_text(json.dumps({"checkpoint": "tiny.ckpt", "config_dir": "tiny-bert"}))
    return SimpleNamespace(
        model_dir=model_dir,
        folder=folder,
        config_dir=config_dir,
        checkpoint_path=checkpoint_path,
        checkpoint=checkpoint,
    )


@pytest.fixture(scope="module")
def scorer(tiny: SimpleNamespace) -> DetoxifyScorer:
    """The tiny model, loaded the way the app loads it."""
    return load_detoxify(tiny.model_dir, device="cpu")


def _variant(tiny: SimpleNamespace, tmp_path: Path, change: Callable[[dict[str, Any]], Any]) -> Path:
    """Save a changed copy of the tiny checkpoint; change may edit it in place or return a replacement."""
    checkpoint = copy.deepcopy(tiny.checkpoint)
    replaced = change(checkpoint)
    path = tmp_path / "variant.ckpt"
    torch.save(checkpoint if replaced is None else replaced, path)
    return path


# -- loading and scoring ----------------------------------------------------------


def test_load_detoxify_scores_every_label_in_range(scorer: DetoxifyScorer, tiny: SimpleNamespace) -> None:
    assert isinstance(scorer, Scorer)
    assert scorer.name == "detoxify-custom"
    assert scorer.version == hashlib.sha256(tiny.checkpoint_path.read_bytes()).hexdigest()[:12]
    # Jigsaw names come out under detoxify's (and Jury's) label names, in LABELS order.
    assert scorer.labels == LABELS
    assert scorer.device == "cpu"
    scores = scorer.score(PROBE)
    _assert_valid(scores, LABELS, len(PROBE))
    assert len({row["toxicity"] for row in scores}) > 1, "random weights should still tell texts apart"
    assert scorer.score([]) == []


def test_from_checkpoint_names_the_model_and_matches_load_detoxify(
    scorer: DetoxifyScorer, tiny: SimpleNamespace
) -> None:
    direct = DetoxifyScorer.from_checkpoint(tiny.checkpoint_path, tiny.config_dir, model_type="tiny")
    assert (direct.name, direct.version, direct.labels) == ("detoxify-tiny", scorer.version, LABELS)
    assert direct.device == ("cuda" if torch.cuda.is_available() else "cpu")
    direct_scores = direct.score(PROBE)
    for got, want in zip(direct_scores, scorer.score(PROBE), strict=True):
        assert got == pytest.approx(want, abs=1e-5)


def test_scores_are_detoxify_predictions(scorer: DetoxifyScorer) -> None:
    raw = scorer._model.predict(PROBE[:2])
    scores = scorer.score(PROBE[:2])
    assert [s["identity_attack"] for s in scores] == pytest.approx(raw["identity_attack"], abs=1e-6)
    assert [s["toxicity"] for s in scores] == pytest.approx(raw["toxicity"], abs=1e-6)


def test_batching_gives_the_same_scores_as_one_by_one(tiny: SimpleNamespace) -> None:
    batched = DetoxifyScorer.from_checkpoint(tiny.checkpoint_path, tiny.config_dir, device="cpu", batch_size=4)
    texts = [*PROBE, "", *reversed(PROBE), "nice", "you are " * 40]
    together = batched.score(texts)
    alone = [batched.score([text])[0] for text in texts]
    assert len(together) == len(texts)
    for i, (got, want) in enumerate(zip(together, alone, strict=True)):
        assert got == pytest.approx(want, abs=1e-5), texts[i]


def test_odd_texts_score_without_error(scorer: DetoxifyScorer) -> None:
    odd = [
        "",
        None,
        "   \n\t ",
        "\u200b\u200b\u202e",
        "😡🔥💀",
        "you are an idiot " * 6_000,  # ~100 KB
        "x" * 100_000,
        b"\xff\xfe\x00\x80 junk \xc3\x28",
        bytes(range(256)),
        "مرحبا بكم שלום",
    ]
    scores = scorer.score(odd)
    _assert_valid(scores, LABELS, len(odd))
    zero = dict.fromkeys(LABELS, 0.0)
    assert scores[0] == scores[1] == scores[2] == scores[3] == zero
    assert scores[4] != zero and scores[5] != zero


def test_score_rejects_a_bare_string(scorer: DetoxifyScorer) -> None:
    with pytest.raises(TypeError):
        scorer.score("just one text")


def test_concurrent_scoring_matches_sequential(scorer: DetoxifyScorer) -> None:
    expected = scorer.score(PROBE)
    results: list[Any] = [None] * 4

    def work(slot: int) -> None:
        results[slot] = scorer.score(PROBE)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for got in results:
        assert got is not None
        for row, want in zip(got, expected, strict=True):
            assert row == pytest.approx(want, abs=1e-6)


def test_labels_follow_LABELS_order_and_skip_unknown_classes(tmp_path: Path) -> None:
    classes = ["insult", "toxic", "threat", "sexual_explicit", "obscene", "identity_hate", "severe_toxic"]
    config_dir = _save_config_dir(tmp_path / "seven", num_labels=len(classes))
    path = tmp_path / "seven.ckpt"
    torch.save(_checkpoint(str(config_dir), classes, seed=1), path)
    seven = DetoxifyScorer.from_checkpoint(path, config_dir, device="cpu")
    assert seven.labels == LABELS
    assert "sexual_explicit" in seven.class_names
    raw = seven._model.predict(["you are an idiot", "have a nice day"])
    scores = seven.score(["you are an idiot", "have a nice day"])
    _assert_valid(scores, LABELS, 2)
    for label in LABELS:
        assert [s[label] for s in scores] == pytest.approx(raw[label], abs=1e-6)


def test_a_hub_id_model_type_loads_offline_from_config_dir(tiny: SimpleNamespace, tmp_path: Path) -> None:
    # Published checkpoints name a hub id ("bert-base-uncased"), which detoxify would fetch.
    def to_hub_id(checkpoint: dict[str, Any]) -> None:
        checkpoint["config"]["arch"]["args"]["model_type"] = "bert-base-uncased"

    path = _variant(tiny, tmp_path, to_hub_id)
    started = time.monotonic()
    moved = DetoxifyScorer.from_checkpoint(path, tiny.config_dir, device="cpu")
    assert time.monotonic() - started < 30
    reference = DetoxifyScorer.from_checkpoint(tiny.checkpoint_path, tiny.config_dir, device="cpu")
    for got, want in zip(moved.score(PROBE), reference.score(PROBE), strict=True):
        assert got == pytest.approx(want, abs=1e-6)


# -- bad checkpoints ----------------------------------------------------------------


def _drop_classes(checkpoint: dict[str, Any]) -> None:
    del checkpoint["config"]["dataset"]


def _five_classes_declared(checkpoint: dict[str, Any]) -> None:
    checkpoint["config"]["arch"]["args"]["num_classes"] = 5


def _five_classes_everywhere(checkpoint: dict[str, Any]) -> None:
    checkpoint["config"]["arch"]["args"]["num_classes"] = 5
    checkpoint["config"]["dataset"]["args"]["classes"] = JIGSAW_CLASSES[:5]


def _missing_layer(checkpoint: dict[str, Any]) -> None:
    del checkpoint["state_dict"]["bert.encoder.layer.1.output.dense.weight"]


def _empty_state_dict(checkpoint: dict[str, Any]) -> None:
    checkpoint["state_dict"] = {}


def _unknown_model_class(checkpoint: dict[str, Any]) -> None:
    checkpoint["config"]["arch"]["args"]["model_name"] = "NoSuchModelForSequenceClassification"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: [1, 2, 3], "not a detoxify checkpoint"),
        (lambda c: c["state_dict"], "not a detoxify checkpoint"),
        (_drop_classes, "config.dataset.args.classes is missing"),
        (_five_classes_declared, "num_classes is 5 but config.dataset.args.classes lists 6"),
        (_five_classes_everywhere, "classifier (classifier.weight) has 6 outputs but config.arch.args.num_classes"),
        (_missing_layer, "lacks weights for 1 of the model's parameters"),
        (_empty_state_dict, "state_dict must be a non-empty mapping"),
        (_unknown_model_class, "is not a transformers model"),
    ],
    ids=["list", "bare-state-dict", "no-classes", "num-classes", "classifier-rows", "missing-layer", "empty", "class"],
)
def test_wrong_shaped_checkpoints_are_refused_at_construction(
    tiny: SimpleNamespace, tmp_path: Path, change, message: str
) -> None:
    path = _variant(tiny, tmp_path, change)
    with pytest.raises(ScorerError) as caught:
        DetoxifyScorer.from_checkpoint(path, tiny.config_dir, device="cpu")
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_checkpoint_is_refused(tiny: SimpleNamespace, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="detoxify checkpoint .*nope.ckpt not found"):
        DetoxifyScorer.from_checkpoint(tmp_path / "nope.ckpt", tiny.config_dir)
    with pytest.raises(ModelNotFoundError, match="config folder .*nowhere not found"):
        DetoxifyScorer.from_checkpoint(tiny.checkpoint_path, tmp_path / "nowhere")


@pytest.mark.parametrize("cut", ["truncated", "junk", "empty"])
def test_corrupt_checkpoint_is_refused(tiny: SimpleNamespace, tmp_path: Path, cut: str) -> None:
    data = tiny.checkpoint_path.read_bytes()
    path = tmp_path / "corrupt.ckpt"
    path.write_bytes({"truncated": data[: len(data) // 2], "junk": os.urandom(4096), "empty": b""}[cut])
    with pytest.raises(ScorerError, match="corrupt or not a torch checkpoint"):
        DetoxifyScorer.from_checkpoint(path, tiny.config_dir, device="cpu")


def test_config_dir_with_another_label_count_is_refused(tiny: SimpleNamespace, tmp_path: Path) -> None:
    two = _save_config_dir(tmp_path / "two-labels", num_labels=2)
    with pytest.raises(ScorerError, match="describes 2 labels but checkpoint tiny.ckpt has 6 classes; .*num_labels=6"):
        DetoxifyScorer.from_checkpoint(tiny.checkpoint_path, two, device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScorerError, match="has no config.json"):
        DetoxifyScorer.from_checkpoint(tiny.checkpoint_path, tmp_path / "empty", device="cpu")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"device": "warp-drive"}, "invalid torch device"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"model_type": "../x"}, "invalid detoxify model type"),
        ({"model_type": "x" * 41}, "invalid detoxify model type"),
    ],
)
def test_bad_options_are_refused(tiny: SimpleNamespace, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ScorerError, match=message):
        DetoxifyScorer.from_checkpoint(tiny.checkpoint_path, tiny.config_dir, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_refused(tiny: SimpleNamespace) -> None:
    with pytest.raises(ScorerError, match="CUDA is not available"):
        DetoxifyScorer.from_checkpoint(tiny.checkpoint_path, tiny.config_dir, device="cuda")


# -- load_detoxify: what model_dir/detoxify/detoxify.json may point at --------------------


def _model_dir_with(tmp_path: Path, tiny: SimpleNamespace, spec: Any) -> Path:
    model_dir = tmp_path / "models"
    (model_dir / "detoxify").mkdir(parents=True)
    text = spec if isinstance(spec, str) else json.dumps(spec)
    (model_dir / "detoxify" / "detoxify.json").write_text(text)
    return model_dir


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"checkpoint": "../outside.ckpt", "config_dir": "cfg"}, "checkpoint '../outside.ckpt' resolves outside"),
        ({"checkpoint": "x.ckpt", "config_dir": "../../elsewhere"}, "config_dir '../../elsewhere' resolves outside"),
        ({"checkpoint": "ABSOLUTE", "config_dir": "cfg"}, "is an absolute path"),
        ({"checkpoint": ".", "config_dir": "cfg"}, "resolves outside"),
        ({"checkpoint": "link.ckpt", "config_dir": "cfg"}, "checkpoint 'link.ckpt' resolves outside"),
    ],
    ids=["dotdot", "config-dotdot", "absolute", "folder-itself", "symlink"],
)
def test_load_detoxify_refuses_paths_outside_model_dir(
    tiny: SimpleNamespace, tmp_path: Path, spec: dict[str, str], message: str
) -> None:
    if spec["checkpoint"] == "ABSOLUTE":
        spec = {**spec, "checkpoint": str(tiny.checkpoint_path)}
    model_dir = _model_dir_with(tmp_path, tiny, spec)
    # A real checkpoint sits right outside: it must not be read, let alone unpickled.
    (tmp_path / "models" / "outside.ckpt").write_bytes(tiny.checkpoint_path.read_bytes())
    (model_dir / "detoxify" / "link.ckpt").symlink_to(tiny.checkpoint_path)
    with pytest.raises(ScorerError, match=message):
        load_detoxify(model_dir, device="cpu")


def test_load_detoxify_refuses_a_detoxify_folder_linked_elsewhere(tiny: SimpleNamespace, tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    (model_dir / "detoxify").symlink_to(tiny.folder, target_is_directory=True)
    with pytest.raises(ScorerError, match="resolves outside"):
        load_detoxify(model_dir)


@pytest.mark.parametrize(
    "spec, error, message",
    [
        (None, ModelNotFoundError, "detoxify.json is missing"),
        ("{not json", ScorerError, "is not valid JSON"),
        ('["original"]', ScorerError, "must hold a JSON object"),
        ({"checkpoint": "tiny.ckpt"}, ScorerError, "both 'checkpoint' and 'config_dir'"),
        ({"checkpoint": "tiny.ckpt", "config_dir": "cfg", "chekpoint": "x"}, ScorerError, "unknown key"),
        ({"published": "original", "checkpoint": "x"}, ScorerError, "cannot be combined"),
        ({"published": "bert"}, ScorerError, "unknown published detoxify model 'bert'; available: original"),
    ],
    ids=["missing", "bad-json", "not-object", "half", "typo", "both", "unknown-type"],
)
def test_load_detoxify_explains_a_bad_description(
    tiny: SimpleNamespace, tmp_path: Path, spec: Any, error: type[Exception], message: str
) -> None:
    if spec is None:
        model_dir = tmp_path / "models"
        model_dir.mkdir()
    else:
        model_dir = _model_dir_with(tmp_path, tiny, spec)
    with pytest.raises(error, match=message):
        load_detoxify(model_dir)


def test_load_detoxify_needs_a_model_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_detoxify(tmp_path / "absent")


# -- the published models, without network ---------------------------------------------


def _call_with_deadline(function: Callable[[], Any], seconds: float) -> BaseException | None:
    """Run function in a daemon thread; return what it raised, or skip if it is still running at the deadline."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.skip(f"the download attempt was still running after {seconds:.0f} s (network drops packets here)")
    assert "value" not in outcome, "a published model loaded, so this machine can download it"
    return outcome.get("error")


@pytest.mark.parametrize("how", ["from_published", "load_detoxify"])
def test_published_model_without_network_fails_quickly_and_clearly(
    tiny: SimpleNamespace, tmp_path: Path, how: str
) -> None:
    if how == "from_published":
        call = functools.partial(DetoxifyScorer.from_published, "original", device="cpu")
    else:
        model_dir = _model_dir_with(tmp_path, tiny, {"published": "original"})
        call = functools.partial(load_detoxify, model_dir, device="cpu")
    started = time.monotonic()
    error = _call_with_deadline(call, 30)
    assert time.monotonic() - started < 30
    assert isinstance(error, ScorerError), repr(error)
    message = str(error)
    assert "'original'" in message
    assert "could not be downloaded" in message
    assert "from_checkpoint" in message and "detoxify.json" in message


def test_the_ensemble_combines_detoxify_with_the_site_model(tiny: SimpleNamespace, tmp_path: Path) -> None:
    import shutil

    from classifiers import load_scorer
    from classifiers.ensemble import EnsembleScorer

    model_dir = tmp_path / "models"
    shutil.copytree(tiny.folder, model_dir / "detoxify")
    ensemble = load_scorer("ensemble", model_dir)
    assert isinstance(ensemble, EnsembleScorer) and ensemble.multilingual is None
    texts = ["I will hurt you tonight", "lovely weather"]
    site = ensemble.site.score(texts)
    general = ensemble.detoxify.score(texts)
    combined = ensemble.score(texts)
    for s, g, c in zip(site, general, combined, strict=True):
        assert c["toxicity"] == pytest.approx((s["toxicity"] + g["toxicity"]) / 2, abs=1e-6)
    # With a multilingual folder, French posts go to it (and English ones do not).
    shutil.copytree(tiny.folder, model_dir / "detoxify-multilingual")
    routed = load_scorer("ensemble", model_dir)
    assert routed.multilingual is not None and routed.version != ensemble.version
    assert routed._route(["Je vais te retrouver ce soir, tu vas voir.", "I will find you tonight, you will see."]) \
        == [True, False]
