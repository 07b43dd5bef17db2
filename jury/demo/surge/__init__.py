"""The surge: a day like Parler's in January 2021, played through the real code under Jury's defaults and
under a case-by-case baseline (`flask jury simulate --scenario surge`; README.md, *The surge, measured*)."""
from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

from flask import Flask, has_app_context

from jury.demo.surge.bound import ceiling
from jury.demo.surge.chart import surge_chart
from jury.demo.surge.generator import SurgeConfig, generate
from jury.demo.surge.metrics import figures, series
from jury.demo.surge.run import POLICIES, SurgeRun, jury_settings
from models import db

__all__ = ["POLICIES", "SurgeConfig", "generate", "jury_settings", "surge"]


def surge(config: SurgeConfig, app_factory: Callable[[Mapping[str, Any]], Flask],
          progress: Callable[[str], None] | None = None, chart: str | None = None,
          settings: Mapping[str, Any] | None = None, parallel: bool = False) -> dict:
    """Generate the day, run both policies on it, and return their figures (writes the chart to `chart`).

    settings: policy settings over Jury's defaults for the `jury` run (`--set`); the baseline takes none.
    parallel: play the policies at once, each in a process of its own (each has its own database and
    its own seeded randomness: the figures are the same as one after the other)."""
    progress = progress or (lambda line: None)
    started = time.perf_counter()
    day = generate(config)
    result: dict[str, Any] = {"scenario": "surge", "generator": {**asdict(config), **day.summary(),
                                                                 "lawful_reported_share": round(
                                                                     config.lawful_reported_share, 5)}}
    # What any policy could reach on this day (a perfect jury deciding at once): the targets' ceiling.
    result["bound"] = ceiling(day)
    result["jury_settings"] = dict(settings or {})
    lines = {}
    _PLAY.update(day=day, app_factory=app_factory, progress=progress, settings=settings,
                 engine=db.engine if has_app_context() else None)
    try:
        if parallel:
            # Forked, the processes share the generated day instead of each receiving a copy of it.
            with ProcessPoolExecutor(len(POLICIES), mp_context=multiprocessing.get_context("fork"),
                                     initializer=_forget_parent_connections) as pool:
                played = list(pool.map(_play, POLICIES))
        else:
            played = [_play(name) for name in POLICIES]
    finally:
        _PLAY.clear()
    for name, figured, line in played:
        result[name], lines[name] = figured, line
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    if chart:
        caption = (f"The surge at scale {config.scale:g}, seed {config.seed}: copy share {config.copy_share:g}, "
                   f"repeat share {config.repeat_share:g}, model AUC {config.model_auc:g}")
        with open(chart, "w", encoding="utf-8") as handle:
            handle.write(surge_chart(lines, config.horizon_hours, caption))
    return result


# What _play reads: set by surge() before it plays (a forked process inherits it).
_PLAY: dict[str, Any] = {}


def _forget_parent_connections() -> None:
    """In a forked process: drop the calling app's pooled connections without closing them, which would
    close the parent's (a PostgreSQL connection is one socket, whoever holds it)."""
    if _PLAY.get("engine") is not None:
        _PLAY["engine"].dispose(close=False)


def _play(name: str) -> tuple[str, dict, dict]:
    """Play one policy on the day surge() set; its name, figures and chart lines."""
    started = time.perf_counter()
    day = _PLAY["day"]
    trace, network, counts = SurgeRun(day, name, _PLAY["app_factory"], _PLAY["progress"], _PLAY["settings"]).run()
    figured = figures(day, trace, network, counts)
    figured["wall_seconds"] = round(time.perf_counter() - started, 1)
    return name, figured, series(trace)
