"""Walk-forward: tune on each training window, run the chosen values on the window after it, report out of sample.

Folds roll forward by the test length: fold k trains on ``[first + k·test, + train)`` and tests on the ``test``
days right after, as long as the test window ends by ``--to``. On each training window every grid point runs (one
backtest each, its own log directory); the chosen point is the one with the highest training **net P&L** (from
fills), ties going to the smaller drawdown and then to the earlier grid point. Each fold's chosen values then run
once on its test window. Runs go to a process pool (at most ``workers`` processes; 2 on the build box).

Overfitting warning, per fold and overall: the in-sample net per venue day is positive and more than twice the
out-of-sample net per venue day (a strategy that made $10/day in training and $4/day after, or lost after).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from shared.config import ConfigError
from shared.timeutil import to_iso, utcnow
from surfaces.backtest.runner import BacktestSpec, code_version, run_backtest, write_manifest
from surfaces.backtest.settings import validate_overrides
from surfaces.backtest.summary import money, summarize
from surfaces.backtest.window import BacktestWindow

OVERFIT_RATIO = 2.0
MAX_WORKERS = 2
_SPAN = re.compile(r"^(\d+)d?$")


class WalkForwardError(ValueError):
    """Options that make no walk-forward (named in the message)."""


def parse_span(option: str, text: str) -> int:
    """``30d`` (or ``30``) -> 30 days; raises WalkForwardError naming the option."""
    match = _SPAN.match(text.strip())
    if match is None or int(match.group(1)) < 1:
        raise WalkForwardError(f"{option}: {text!r} is not a number of days, e.g. 30d")
    return int(match.group(1))


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``KEY=v1,v2`` options -> {KEY: [v1, v2]}; raises ConfigError naming a malformed or repeated one."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().upper()
        choices = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key or not choices:
            raise ConfigError(None, "--grid", f"{item!r} is not KEY=v1,v2,...")
        if key in grid:
            raise ConfigError(None, key, "given twice in --grid")
        grid[key] = choices
    return grid


def grid_points(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination, in the order the values were given (the first key varies slowest)."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


@dataclass(frozen=True)
class Fold:
    index: int
    train: BacktestWindow
    test: BacktestWindow


def make_folds(window: BacktestWindow, train_days: int, test_days: int) -> list[Fold]:
    """Rolling folds inside ``window``; raises WalkForwardError when not even one fits."""
    folds = []
    k = 0
    while True:
        train_first = window.first + timedelta(days=k * test_days)
        test_first = train_first + timedelta(days=train_days)
        test_last = test_first + timedelta(days=test_days - 1)
        if test_last > window.last:
            break
        folds.append(Fold(k + 1, BacktestWindow(train_first, test_first - timedelta(days=1)),
                          BacktestWindow(test_first, test_last)))
        k += 1
    if not folds:
        raise WalkForwardError(f"--train {train_days}d + --test {test_days}d do not fit in {window.describe()} "
                               f"({window.days} days)")
    return folds


def run_job(spec: BacktestSpec, out_dir: Path) -> dict[str, Any]:
    """One backtest and its summary (a process-pool job: module-level so it pickles)."""
    return summarize(run_backtest(spec, out_dir))


def _score(summary: dict[str, Any]) -> tuple[int, int]:
    return summary["net_cents"], -summary["max_drawdown_cents"]


def _per_day(net_cents: int, days: int) -> float:
    return net_cents / max(1, days)


def overfit(in_sample_per_day: float, out_of_sample_per_day: float) -> bool:
    return in_sample_per_day > 0 and in_sample_per_day > OVERFIT_RATIO * out_of_sample_per_day


def _slim(summary: dict[str, Any]) -> dict[str, Any]:
    keys = ("out_dir", "trades", "win_rate", "gross_cents", "fees_cents", "net_cents", "net_per_day_cents",
            "max_drawdown_cents", "sharpe_daily", "open_at_end")
    return {k: summary[k] for k in keys}


Submit = Callable[[BacktestSpec, Path], "Future[dict[str, Any]]"]


def walk_forward(base: BacktestSpec, grid: dict[str, list[str]], train_days: int, test_days: int, out_dir: Path,
                 *, workers: int = MAX_WORKERS,
                 on_done: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run the walk-forward into ``out_dir`` and return its report (also written to ``walkforward.json``)."""
    folds = make_folds(base.window, train_days, test_days)
    points = grid_points(grid)
    for point in points:
        validate_overrides(base.surface, base.overrides | point)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "kind": "walk_forward", "surface": base.surface,
        "window": {"from": base.window.first.isoformat(), "to": base.window.last.isoformat()},
        "train_days": train_days, "test_days": test_days, "overrides": base.overrides, "grid": grid,
        "seed": base.seed, "criterion": "highest training net P&L; ties: smaller drawdown, then grid order",
        "code_version": code_version(), "created_at": to_iso(utcnow()), "result_kind": "sim",
        "folds": [{"fold": f.index, "train": f.train.describe(), "test": f.test.describe()} for f in folds],
    }
    write_manifest(out_dir, manifest)
    total = len(folds) * (len(points) + 1)
    done = 0

    def finished(_: object) -> None:
        nonlocal done
        done += 1
        if on_done is not None:
            on_done(done, total)

    with ProcessPoolExecutor(max_workers=max(1, min(workers, MAX_WORKERS))) as pool:
        train_jobs: dict[tuple[int, int], Future[dict[str, Any]]] = {}
        for fold in folds:
            for i, point in enumerate(points):
                spec = replace(base, window=fold.train, overrides=base.overrides | point)
                job = pool.submit(run_job, spec, out_dir / f"fold-{fold.index:02d}" / f"train-{i + 1:02d}")
                job.add_done_callback(finished)
                train_jobs[fold.index, i] = job
        chosen: dict[int, int] = {}
        test_jobs: dict[int, Future[dict[str, Any]]] = {}
        for fold in folds:
            results = [train_jobs[fold.index, i].result() for i in range(len(points))]
            best = max(range(len(points)), key=lambda i: (_score(results[i]), -i))
            chosen[fold.index] = best
            spec = replace(base, window=fold.test, overrides=base.overrides | points[best])
            test_jobs[fold.index] = pool.submit(run_job, spec, out_dir / f"fold-{fold.index:02d}" / "test")
            test_jobs[fold.index].add_done_callback(finished)
        report_folds = []
        for fold in folds:
            best = chosen[fold.index]
            trained = train_jobs[fold.index, best].result()
            tested = test_jobs[fold.index].result()
            in_day = _per_day(trained["net_cents"], fold.train.days)
            out_day = _per_day(tested["net_cents"], fold.test.days)
            report_folds.append({
                "fold": fold.index,
                "train": {"from": fold.train.first.isoformat(), "to": fold.train.last.isoformat()},
                "test": {"from": fold.test.first.isoformat(), "to": fold.test.last.isoformat()},
                "chosen": points[best],
                "grid": [{"values": points[i], **_slim(train_jobs[fold.index, i].result())}
                         for i in range(len(points))],
                "in_sample": _slim(trained) | {"net_per_day_cents": in_day},
                "out_of_sample": _slim(tested) | {"net_per_day_cents": out_day},
                "overfit_warning": overfit(in_day, out_day),
            })
    report = {"manifest": manifest, "folds": report_folds, "overall": _overall(report_folds, folds)}
    (out_dir / "walkforward.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return report


def _overall(rows: list[dict[str, Any]], folds: list[Fold]) -> dict[str, Any]:
    oos_net = sum(r["out_of_sample"]["net_cents"] for r in rows)
    oos_days = sum(f.test.days for f in folds)
    is_days = sum(f.train.days for f in folds)
    is_net = sum(r["in_sample"]["net_cents"] for r in rows)
    trades = sum(r["out_of_sample"]["trades"] for r in rows)
    in_day, out_day = _per_day(is_net, is_days), _per_day(oos_net, oos_days)
    return {
        "out_of_sample": {"trades": trades, "net_cents": oos_net, "fees_cents":
                          sum(r["out_of_sample"]["fees_cents"] for r in rows), "days": oos_days,
                          "net_per_day_cents": out_day},
        "in_sample": {"net_cents": is_net, "days": is_days, "net_per_day_cents": in_day},
        "overfit_warning": overfit(in_day, out_day),
        "label": "synthetic (sim): walk-forward on a sim venue tests the machinery and shows no skill",
    }


def render(report: dict[str, Any]) -> str:
    """The walk-forward report as text."""
    m = report["manifest"]
    lines = [f"walk-forward {m['surface']} {m['window']['from']} to {m['window']['to']}: train {m['train_days']}d, "
             f"test {m['test_days']}d, {len(report['folds'])} folds, grid "
             + " ".join(f"{k}={','.join(v)}" for k, v in m["grid"].items()),
             f"  criterion: {m['criterion']}", f"  result: {report['overall']['label']}"]
    for row in report["folds"]:
        chosen = " ".join(f"{k}={v}" for k, v in row["chosen"].items())
        ins, oos = row["in_sample"], row["out_of_sample"]
        lines.append(
            f"  fold {row['fold']}: train {row['train']['from']}..{row['train']['to']} chose {chosen}: in-sample net "
            f"{money(ins['net_cents'])} ({money(ins['net_per_day_cents'])}/day, {ins['trades']} trades); "
            f"test {row['test']['from']}..{row['test']['to']}: net {money(oos['net_cents'])} "
            f"({money(oos['net_per_day_cents'])}/day, {oos['trades']} trades)"
            + ("  WARNING: in-sample far better than out-of-sample" if row["overfit_warning"] else ""))
    o = report["overall"]
    lines.append(
        f"  out of sample overall: {o['out_of_sample']['trades']} trades, net {money(o['out_of_sample']['net_cents'])}"
        f" (fees {money(o['out_of_sample']['fees_cents'])}) over {o['out_of_sample']['days']} venue days "
        f"({money(o['out_of_sample']['net_per_day_cents'])}/day; in sample "
        f"{money(o['in_sample']['net_per_day_cents'])}/day)")
    if o["overfit_warning"]:
        lines.append(f"  WARNING: overfitting: in-sample net per day is positive and more than {OVERFIT_RATIO:g}x "
                     "the out-of-sample net per day")
    return "\n".join(lines) + "\n"
