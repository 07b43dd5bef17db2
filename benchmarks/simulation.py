"""Verdict policies against simulated jurors: a plain 3-juror quorum and reliability-weighted, same seed.

Runs `jury.demo.simulation` (the code behind `flask jury simulate`: the real dealing, voting and verdict
code on a throwaway SQLite database, jobs inline) once per policy with the same inputs and seed,
and prints one JSON object with both results side by side, plus the issue's targets:
weighted accuracy >= 0.96 at <= 3.3 votes per verdict; quorum about 0.83 as the baseline.
Exits 0 whether or not the targets are met. Takes several minutes per policy on one core at
the default size (200 jurors, 5000 cases).

    .venv/bin/python benchmarks/simulation.py [--jurors 200] [--cases 5000] [--seed 1] [--policy weighted]
        [--with-oracle]
"""
from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # `python benchmarks/x.py` puts benchmarks/ first on the path, not the project.
    sys.path.insert(0, str(ROOT))

from jury import create_app  # noqa: E402
from jury.demo.simulation import SimulationConfig, parse_range, simulate  # noqa: E402


def main() -> int:
    """Run the policies and print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jurors", type=int, default=200)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--juror-accuracy", default="0.6-0.95")
    parser.add_argument("--spammer-share", type=float, default=0.1)
    parser.add_argument("--model-auc", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", action="append", choices=("quorum", "weighted"),
                        help="Run only this policy (repeatable; default both).")
    parser.add_argument("--with-oracle", action="store_true",
                        help="Also run the ceiling: the weighted policy told the true accuracies and calibration.")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    low, high = parse_range(args.juror_accuracy)
    results = {}
    runs = [(policy, False) for policy in args.policy or ["quorum", "weighted"]]
    if args.with_oracle:
        runs.append(("weighted", True))
    for policy, oracle in runs:
        name = "weighted_oracle" if oracle else policy
        print(f"[{time.strftime('%H:%M:%S')}] simulating {name}", file=sys.stderr, flush=True)
        results[name] = simulate(SimulationConfig(
            jurors=args.jurors, cases=args.cases, accuracy_low=low, accuracy_high=high,
            spammer_share=args.spammer_share, model_auc=args.model_auc, policy=policy, seed=args.seed,
            oracle=oracle), create_app,
            progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    weighted = results.get("weighted")
    report = {
        "benchmark": "simulation",
        "python": platform.python_version(),
        "inputs": {"jurors": args.jurors, "cases": args.cases, "juror_accuracy": [low, high],
                   "spammer_share": args.spammer_share, "model_auc": args.model_auc, "seed": args.seed},
        "results": results,
        "targets": {
            "weighted_accuracy_min": 0.96, "weighted_votes_per_verdict_max": 3.3,
            "met": None if weighted is None else bool(
                weighted["accuracy"] >= 0.96 and weighted["votes_per_verdict"] <= 3.3),
        },
    }
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
