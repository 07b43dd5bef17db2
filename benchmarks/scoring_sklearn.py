"""Scoring speed of the scikit-learn scorer on one core, against the bare fitted pipeline in the same run.

What runs: BLAS/OpenMP threads are set to 1 and the process is pinned to one CPU. The texts are the
24,783 Davidson et al. tweets when the shared data is present (``--data``, or ``JURY_SHARED_DATA``,
or ``../shared/data``), else as many generated posts. Two models are measured:

- ``davidson``: a ``SklearnScorer`` trained on those texts (toxicity only, default parameters);
  with generated texts, trained on them with generated labels;
- ``seed_default``: the app's default model (six labels, trained on the seed corpus).

For each, every text is scored in batches of ``--batch`` (1,000) through the interface,
``SklearnScorer.score`` (text cleaning with ``prepare_text``, features, one regression per label,
one dict per post), and through the bare fitted pipeline: the same feature union's ``transform`` on
the raw texts and each label's ``predict_proba``, nothing else. ``--rounds`` rounds alternate which
goes first; the medians are reported, with ratio = interface / bare posts per second.
A breakdown of one interface pass says where the time goes.

Targets: >= 5,000 posts/s through the interface, ratio >= 0.9. Prints one JSON object on stdout
(progress on stderr), exit 0 whether or not targets are met.

    .venv/bin/python benchmarks/scoring_sklearn.py [--batch 1000] [--rounds 5] [--data DIR]
"""
from __future__ import annotations

import os

# Before numpy loads: one thread each, so "one core" means one core.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # `python benchmarks/x.py` puts benchmarks/ first on the path, not the project.
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from classifiers import SklearnScorer, ensure_default_model, prepare_text  # noqa: E402
from classifiers.datasets import load_labelled_csv  # noqa: E402

TARGET_POSTS_PER_S = 5_000
TARGET_RATIO = 0.9


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pin_one_core() -> str:
    """Pin this process to one CPU; returns which, or why not."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"cpu {cpu}"


def generated_corpus(n: int, seed: int = 1) -> tuple[list[str], list[dict[str, int]]]:
    """Posts of 5-30 words mixing the seed corpus's vocabulary; a third labelled toxic by their words."""
    from classifiers.seed_corpus import seed_corpus

    texts, rows = seed_corpus()
    toxic_words = sorted({w for t, r in zip(texts, rows, strict=True) if r["toxicity"] for w in t.split()})
    benign_words = sorted({w for t, r in zip(texts, rows, strict=True) if not r["toxicity"] for w in t.split()})
    rng = random.Random(seed)
    out_texts, out_rows = [], []
    for i in range(n):
        toxic = i % 3 == 0
        words = rng.choices(toxic_words if toxic else benign_words, k=rng.randint(5, 30))
        out_texts.append(" ".join(words))
        out_rows.append({"toxicity": int(toxic)})
    return out_texts, out_rows


def batches(texts: list[str], size: int) -> list[list[str]]:
    """The texts cut into consecutive batches."""
    return [texts[i:i + size] for i in range(0, len(texts), size)]


def interface_pass(scorer: SklearnScorer, chunks: list[list[str]]) -> float:
    """Seconds to score every batch through SklearnScorer.score."""
    start = time.perf_counter()
    for chunk in chunks:
        scorer.score(chunk)
    return time.perf_counter() - start


def bare_pass(scorer: SklearnScorer, chunks: list[list[str]]) -> float:
    """Seconds for the fitted feature union and each label's predict_proba alone, on the raw texts."""
    features = scorer._features  # the very objects the scorer uses
    heads = [h for h in scorer._heads.values() if not isinstance(h, float)]
    start = time.perf_counter()
    for chunk in chunks:
        matrix = features.transform(chunk)
        for head in heads:
            head.predict_proba(matrix)
    return time.perf_counter() - start


def breakdown(scorer: SklearnScorer, chunks: list[list[str]]) -> dict:
    """Where one interface pass spends its time, step by step, as score() runs them."""
    features = scorer._features
    spent = {"prepare_text": 0.0, "transform": 0.0, "predict_proba": 0.0, "to_dicts": 0.0}
    for chunk in chunks:
        t0 = time.perf_counter()
        cleaned = [prepare_text(t, scorer._max_chars)[0] for t in chunk]
        t1 = time.perf_counter()
        matrix = features.transform(cleaned)
        t2 = time.perf_counter()
        columns = {label: scorer._predict(label, matrix, len(cleaned)) for label in scorer.labels}
        t3 = time.perf_counter()
        empty = np.fromiter((not text for text in cleaned), dtype=bool, count=len(cleaned))
        for column in columns.values():
            column[empty] = 0.0
        [{label: float(columns[label][i]) for label in scorer.labels} for i in range(len(cleaned))]
        t4 = time.perf_counter()
        spent["prepare_text"] += t1 - t0
        spent["transform"] += t2 - t1
        spent["predict_proba"] += t3 - t2
        spent["to_dicts"] += t4 - t3
    total = sum(spent.values())
    return {f"{k}_s": round(v, 4) for k, v in spent.items()} | {
        f"{k}_share": round(v / total, 3) for k, v in spent.items()
    }


def measure(name: str, scorer: SklearnScorer, texts: list[str], size: int, rounds: int) -> dict:
    """Median posts/s through the interface and bare, alternating which runs first each round."""
    chunks = batches(texts, size)
    interface_pass(scorer, chunks[:1])
    bare_pass(scorer, chunks[:1])
    iface, bare = [], []
    for r in range(rounds):
        order = (("interface", interface_pass), ("bare", bare_pass))
        for kind, func in order if r % 2 == 0 else reversed(order):
            seconds = func(scorer, chunks)
            (iface if kind == "interface" else bare).append(len(texts) / seconds)
        progress(f"{name} round {r + 1}: interface {iface[-1]:,.0f} posts/s, bare {bare[-1]:,.0f} posts/s")
    iface_median, bare_median = statistics.median(iface), statistics.median(bare)
    ratio = iface_median / bare_median
    return {
        "model": {"name": scorer.name, "version": scorer.version, "labels": list(scorer.labels),
                  "features": int(sum(len(v.vocabulary_) for _, v in scorer._features.transformer_list))},
        "interface_posts_per_s": round(iface_median),
        "bare_posts_per_s": round(bare_median),
        "ratio_interface_over_bare": round(ratio, 3),
        "rounds_interface_posts_per_s": [round(v) for v in iface],
        "rounds_bare_posts_per_s": [round(v) for v in bare],
        "interface_breakdown": breakdown(scorer, chunks),
        "targets": {"posts_per_s": TARGET_POSTS_PER_S, "ratio": TARGET_RATIO},
        "targets_met": {"posts_per_s": iface_median >= TARGET_POSTS_PER_S, "ratio": ratio >= TARGET_RATIO},
    }


def main() -> int:
    """Load texts, build the two models, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.environ.get("JURY_SHARED_DATA") or str(ROOT.parent / "shared" / "data")
    parser.add_argument("--data", default=default_data, help="folder holding the data sets (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=1_000, help="posts per score() call (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="measured passes over all texts (default: %(default)s)")
    args = parser.parse_args()

    pinned = pin_one_core()
    davidson = Path(args.data) / "davidson-hate-offensive" / "labeled_data.csv"
    if davidson.is_file():
        texts, rows = load_labelled_csv(davidson, format="davidson")
        source = "davidson-hate-offensive/labeled_data.csv"
    else:
        progress(f"{davidson} not found: using generated posts")
        texts, rows = generated_corpus(24_783)
        source = "generated"
    progress(f"{len(texts)} texts from {source}; training the toxicity model")
    trained = SklearnScorer.train(texts, rows, labels=("toxicity",), name="bench-davidson")
    with tempfile.TemporaryDirectory(prefix="jury-bench-models-") as model_dir:
        seed_default = ensure_default_model(model_dir)

    import sklearn
    import threadpoolctl

    result = {
        "benchmark": "SklearnScorer.score vs the bare fitted pipeline, one core",
        "texts": {"source": source, "count": len(texts), "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
                  "batch": args.batch},
        "machine": {"cpus": os.cpu_count(), "pinned": pinned, "python": platform.python_version(),
                    "numpy": np.__version__, "sklearn": sklearn.__version__,
                    "blas_threads": [p.get("num_threads") for p in threadpoolctl.threadpool_info()]},
        "models": {
            "davidson": measure("davidson", trained, texts, args.batch, args.rounds),
            "seed_default": measure("seed_default", seed_default, texts, args.batch, args.rounds),
        },
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
