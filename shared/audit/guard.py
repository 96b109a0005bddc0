"""The live-start calibration gate: a surface whose forecasts prove miscalibrated may not trade real money.

A surface loop calls :func:`calibration_gate` at start (or :func:`live_start_check`, which adds the mode and the
operator's override). The verdict uses every resolved trade of the surface in its logs, scored by the signal's
``p_model``: miscalibrated iff the expected calibration error exceeds the tolerance over at least
``min_samples`` trades. With fewer trades the surface is not judged (there is nothing to judge it on yet).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from shared.audit.calibration import DEFAULT_MIN_SAMPLES, DEFAULT_TOLERANCE, assess, surface_pairs
from shared.audit.load import Loader
from shared.audit.window import Window

OVERRIDE_FLAG = "--allow-uncalibrated"


def calibration_gate(log_dir: Path, surface: str, tolerance: float = DEFAULT_TOLERANCE,
                     min_samples: int = DEFAULT_MIN_SAMPLES, *, since: datetime | None = None) -> tuple[bool, str]:
    """(ok, message): False iff the surface's calibration misses ``tolerance`` (ECE) over ``min_samples`` trades.

    ``since`` limits the evidence to trades resolved from that moment on (default: the whole log).
    """
    window = Window.everything() if since is None else Window(since)
    loader = Loader(Path(log_dir), window, (surface,))
    trades = loader.resolved_trades()
    signals = loader.signals({t.signal_id for t in trades})
    pairs, missing = surface_pairs(trades, signals)
    stats = assess(surface, pairs.get(surface, []), tolerance, min_samples)
    skipped = loader.sources.corrupt_lines + loader.sources.invalid_records
    notes = []
    if missing:
        notes.append(f"{missing} resolved trades had no signal to score")
    if skipped:
        notes.append(f"{skipped} corrupt or invalid log lines skipped")
    tail = f" ({'; '.join(notes)})" if notes else ""
    if stats.status == "insufficient":
        return True, (f"{surface}: calibration not judged: {stats.n} scored resolved trades, fewer than the "
                      f"minimum {min_samples}{tail}")
    assert stats.ece is not None and stats.brier is not None  # set whenever there are pairs
    figures = f"ECE {stats.ece:.3f} over {stats.n} resolved trades (Brier {stats.brier:.3f})"
    if stats.status == "ok":
        return True, f"{surface}: calibrated: {figures}, within tolerance {tolerance:.3f}{tail}"
    return False, (f"{surface}: miscalibrated: {figures} exceeds tolerance {tolerance:.3f}{tail}; "
                   f"see `tbot audit calibration --since YYYY-MM-DD --surface {surface}`")


def live_start_check(log_dir: Path, surface: str, trading_mode: str, allow_uncalibrated: bool,
                     tolerance: float = DEFAULT_TOLERANCE,
                     min_samples: int = DEFAULT_MIN_SAMPLES) -> tuple[bool, str]:
    """(may_start, message) for a loop about to start: only live mode is gated, and the override lets it pass."""
    if trading_mode != "live":
        return True, f"{surface}: {trading_mode} mode: calibration gate applies to live trading only"
    ok, message = calibration_gate(log_dir, surface, tolerance, min_samples)
    if ok:
        return True, message
    if allow_uncalibrated:
        return True, f"{message}; starting live anyway because {OVERRIDE_FLAG} was given"
    return False, f"refusing to start in TRADING_MODE=live: {message}; to override, pass {OVERRIDE_FLAG}"
