"""The surge with the flood rule off and on: Jury's defaults (the `jury` run of `flask jury simulate
--scenario surge`) against the same with the policy's `flood` group switched on (triage/flood.py).

The baseline run of the surge is left out: it uses the quorum, which prices no vote, so the flood rule
cannot change it. Prints one JSON object, {"off": figures, "on": figures}, each with its
votes_per_verdict; the surge is deterministic for a seed. About 5 minutes of CPU per run at scale 0.1.

    .venv/bin/python benchmarks/surge_flood.py [--scale 0.1] [--seed 1] [--runs off,on]
        [--vote-cost 0.05] [--queue-hours 24] [--min-open-cases 200]
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # `python benchmarks/x.py` puts benchmarks/ first on the path, not the project.
    sys.path.insert(0, str(ROOT))

from jury import create_app  # noqa: E402
from jury.demo.surge import SurgeConfig, generate  # noqa: E402
from jury.demo.surge.metrics import figures  # noqa: E402
from jury.demo.surge.run import POLICIES, SurgeRun  # noqa: E402
from triage.flood import DEFAULT_FLOOD  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", default="off,on", help="which runs, comma-separated: off, on")
    parser.add_argument("--vote-cost", type=float, default=DEFAULT_FLOOD["vote_cost"])
    parser.add_argument("--queue-hours", type=float, default=DEFAULT_FLOOD["queue_hours"])
    parser.add_argument("--min-open-cases", type=int, default=DEFAULT_FLOOD["min_open_cases"])
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    flood = {"vote_cost": args.vote_cost, "queue_hours": args.queue_hours, "min_open_cases": args.min_open_cases}
    app = create_app()
    jury = dict(POLICIES["jury"])
    result = {}
    with app.app_context():
        day = generate(SurgeConfig(scale=args.scale, seed=args.seed))
        for run in args.runs.split(","):
            POLICIES["jury"] = {**jury, "flood": {**flood, "enabled": run == "on"}}
            started = time.perf_counter()
            trace, network, counts = SurgeRun(day, "jury", app.extensions["app_factory"],
                                              lambda line: print(line, file=sys.stderr)).run()
            figs = figures(day, trace, network, counts)
            figs["votes_per_verdict"] = round(figs["votes"] / max(figs["verdicts"], 1), 3)
            figs["wall_seconds"] = round(time.perf_counter() - started, 1)
            result[run] = {key: "inf" if isinstance(value, float) and math.isinf(value) else value
                           for key, value in figs.items()}
    POLICIES["jury"] = jury
    print(json.dumps({"scale": args.scale, "seed": args.seed, "flood": flood, **result}, sort_keys=True))


if __name__ == "__main__":
    main()
