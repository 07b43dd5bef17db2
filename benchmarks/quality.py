"""Classifier quality on public labelled data: k-fold ROC-AUC and average precision of the scikit-learn scorer.

What runs: for each data set under the shared data folder (``--data``, or ``JURY_SHARED_DATA``, or
``../shared/data`` next to the repository), a stratified k-fold cross-validation (``--folds``, 5) of a
fresh ``SklearnScorer`` per fold, with the parameter preset chosen for that data set and, unless
``--no-baseline``, the plain default parameters for comparison:

- Davidson et al. 2017 (24,783 English tweets): toxic (hate or offensive) vs neither; preset ``nb``.
  Target: mean ROC-AUC >= 0.985.
- MLMA (Ousidhoum et al. 2019) French (4,014 tweets): sentiment not exactly ``normal`` = toxic;
  preset ``fr``. Target: mean ROC-AUC >= 0.72.
- MLMA English (5,647 tweets, stop words removed upstream): same rule; preset ``small``. No target.

Prints one JSON object on stdout (progress on stderr) and exits 0 whether or not targets are met;
a data set that is absent is reported as missing. Takes about 2 minutes on 2 cores.

    .venv/bin/python benchmarks/quality.py [--folds 5] [--seed 0] [--no-baseline] [--data DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # `python benchmarks/x.py` puts benchmarks/ first on the path, not the project.
    sys.path.insert(0, str(ROOT))

from classifiers.datasets import load_labelled_csv  # noqa: E402
from classifiers.evaluation import PARAM_PRESETS, cross_validate  # noqa: E402

DATASETS = [
    # name, path under the data folder, format, preset, target mean ROC-AUC (None: no target)
    ("davidson_toxic_vs_neither", ("davidson-hate-offensive", "labeled_data.csv"), "davidson", "nb", 0.985),
    ("mlma_fr", ("mlma-hate-speech", "fr_dataset.csv"), "mlma", "fr", 0.72),
    ("mlma_en", ("mlma-hate-speech", "en_dataset.csv"), "mlma", "small", None),
]


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_one(texts, rows, preset: str, folds: int, seed: int) -> dict:
    """Cross-validate with one preset; the figures a reader needs, per fold and mean."""
    result = cross_validate(texts, rows, folds=folds, seed=seed, params=PARAM_PRESETS[preset])
    toxicity = result["labels"]["toxicity"]
    return {
        "preset": preset,
        "params": PARAM_PRESETS[preset],
        "roc_auc": toxicity["roc_auc"],
        "average_precision": toxicity["average_precision"],
        "seconds": result["seconds"],
    }


def main() -> int:
    """Run every data set found and print the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.environ.get("JURY_SHARED_DATA") or str(ROOT.parent / "shared" / "data")
    parser.add_argument("--data", default=default_data, help="folder holding the data sets (default: %(default)s)")
    parser.add_argument("--folds", type=int, default=5, help="number of folds (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fold split (default: %(default)s)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain-parameter comparison runs")
    args = parser.parse_args()

    import sklearn

    results: dict = {}
    for name, parts, format_name, preset, target in DATASETS:
        path = Path(args.data).joinpath(*parts)
        if not path.is_file():
            progress(f"{name}: {path} not found, skipped")
            results[name] = {"missing": str(Path(*parts))}
            continue
        texts, rows = data = load_labelled_csv(path, format=format_name)
        entry = {
            "file": "/".join(parts),
            "rows": data.summary["rows"],
            "positives": data.summary["positives"]["toxicity"],
            "folds": args.folds,
            "seed": args.seed,
        }
        progress(f"{name}: {entry['rows']} rows, {args.folds}-fold with preset {preset}")
        entry["result"] = run_one(texts, rows, preset, args.folds, args.seed)
        if not args.no_baseline and preset != "plain":
            progress(f"{name}: baseline with plain parameters")
            entry["baseline_plain"] = run_one(texts, rows, "plain", args.folds, args.seed)
        mean = entry["result"]["roc_auc"]["mean"]
        entry["target_roc_auc"] = target
        entry["target_met"] = None if target is None else bool(mean is not None and mean >= target)
        progress(f"{name}: ROC-AUC {mean} (target {target})")
        results[name] = entry

    output = {
        "benchmark": "classifier quality (k-fold cross-validation of SklearnScorer)",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "sklearn": sklearn.__version__},
        "datasets": results,
    }
    json.dump(output, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
