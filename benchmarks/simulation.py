"""Verdict policies against simulated jurors: a plain 3-juror quorum and reliability-weighted, same seed.

Runs `jury.demo.simulation` (the code behind `flask jury simulate`: the real dealing, voting and verdict
code on a throwaway SQLite database, jobs inline) once per policy with the same inputs and seed,
and prints one JSON object with the results side by side, plus the targets: the weighted jury on its
own (escalated cases counted at the panel's leaning) at accuracy >= 0.96 with <= 3.3 votes per
verdict and <= 3 % of cases escalated; quorum about 0.83 as the baseline. `--with-fixed-rule` also
runs the weighted rule as it was before it weighed what one more vote is worth (vote_cost 0: seats
added until confidence 0.95, up to 6, then a lead, with no cap on the leads' desk).
Exits 0 whether or not the targets are met. Takes several minutes per policy on one core at
the default size (200 jurors, 5000 cases).

    .venv/bin/python benchmarks/simulation.py [--jurors 200] [--cases 5000] [--seed 1] [--policy weighted]
        [--with-oracle] [--with-fixed-rule]
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

# The weighted rule before it weighed votes against leads: confidence or 6 seats, then a lead, no cap.
FIXED_RULE = {"vote_cost": 0, "max_panel_size": 6, "max_open_escalations": 1_000_000}


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
    parser.add_argument("--with-fixed-rule", action="store_true",
                        help="Also run the weighted policy's fixed-confidence rule (the rule before vote_cost).")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    low, high = parse_range(args.juror_accuracy)
    results = {}
    runs = [(policy, policy, False, {}) for policy in args.policy or ["quorum", "weighted"]]
    if args.with_fixed_rule:
        runs.append(("weighted_fixed_rule", "weighted", False, FIXED_RULE))
    if args.with_oracle:
        runs.append(("weighted_oracle", "weighted", True, {}))
    for name, policy, oracle, settings in runs:
        print(f"[{time.strftime('%H:%M:%S')}] simulating {name}", file=sys.stderr, flush=True)
        results[name] = simulate(SimulationConfig(
            jurors=args.jurors, cases=args.cases, accuracy_low=low, accuracy_high=high,
            spammer_share=args.spammer_share, model_auc=args.model_auc, policy=policy, seed=args.seed,
            oracle=oracle, settings=settings), create_app,
            progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    weighted = results.get("weighted")
    report = {
        "benchmark": "simulation",
        "python": platform.python_version(),
        "inputs": {"jurors": args.jurors, "cases": args.cases, "juror_accuracy": [low, high],
                   "spammer_share": args.spammer_share, "model_auc": args.model_auc, "seed": args.seed},
        "results": results,
        "targets": {
            "weighted_accuracy_without_leads_min": 0.96, "weighted_votes_per_verdict_max": 3.3,
            "weighted_escalation_rate_max": 0.03,
            "met": None if weighted is None else bool(
                weighted["accuracy_without_leads"] >= 0.96 and weighted["votes_per_verdict"] <= 3.3
                and weighted["escalation_rate"] <= 0.03),
        },
    }
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
