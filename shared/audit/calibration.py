"""Calibration section: Brier score, log loss, ECE and a 10-bucket reliability table, per surface and per model.

For a surface a pair is (the signal's ``p_model``, whether the trade won): ``p_model`` is the probability
that the chosen side wins. For a model it is its answer in the decision that accepted the candidate
(``context["model_answers"]``, abstentions left out), which the ensemble states as P(YES) / P(long wins)
(shared/ai/schema.py), so the outcome scored is "YES / long happened": the trade won on a yes/long side or
lost on a no/short side (the same convention as shared/ai/history.py). The math is shared/ai/calibration.py's.

Beside it, skill against the market (shared/audit/skill.py): per result kind (synthetic sim, real-data paper,
live), surface and sub-strategy, the strategy's Brier next to the market's own, the skill score and realized
against claimed edge. Calibration alone cannot tell a forecaster that merely echoes the price from one that
knows more than it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.ai.calibration import Pair, brier_score, expected_calibration_error, log_loss, reliability_table
from shared.audit.provenance import RESULT_KINDS, result_kind, result_label
from shared.audit.skill import SkillStats, skill_by_surface
from shared.records import Signal, Trade

BUCKETS = 10
DEFAULT_TOLERANCE = 0.10
DEFAULT_MIN_SAMPLES = 50
Status = Literal["ok", "miscalibrated", "insufficient"]


@dataclass(frozen=True, slots=True)
class BucketRow:
    lower: float
    upper: float
    count: int
    mean_predicted: float | None
    realized_frequency: float | None


@dataclass(frozen=True, slots=True)
class CalibrationStats:
    """One forecaster's calibration; ``status`` is judged only at ``min_samples`` pairs or more."""

    key: str
    n: int
    brier: float | None
    log_loss: float | None
    ece: float | None
    table: list[BucketRow]
    status: Status
    # Where the pairs came from, in words ("synthetic (sim)", "real-data paper", "live", joined by " + " when the
    # window mixes them: pass --source real to judge real data alone).
    sources: str = ""


@dataclass(frozen=True, slots=True)
class CalibrationSection:
    tolerance: float
    min_samples: int
    surfaces: list[CalibrationStats]
    models: list[CalibrationStats]
    trades_without_signal: int
    trades_without_answers: int
    invalid_answers: int
    skill: list[SkillStats] = field(default_factory=list)

    @property
    def flagged(self) -> list[str]:
        """Surfaces whose calibration misses the tolerance over the minimum sample."""
        return [s.key for s in self.surfaces if s.status == "miscalibrated"]


def assess(key: str, pairs: Sequence[Pair], tolerance: float, min_samples: int) -> CalibrationStats:
    """Score one forecaster; miscalibrated iff ECE > tolerance with at least ``min_samples`` pairs."""
    table = [
        BucketRow(b.lower, b.upper, b.count, b.mean_predicted, b.realized_frequency)
        for b in reliability_table(pairs, BUCKETS)
    ]
    if not pairs:
        return CalibrationStats(key, 0, None, None, None, table, "insufficient")
    ece = expected_calibration_error(pairs, BUCKETS)
    if len(pairs) < min_samples:
        status: Status = "insufficient"
    else:
        status = "miscalibrated" if ece > tolerance else "ok"
    return CalibrationStats(key, len(pairs), brier_score(pairs), log_loss(pairs), ece, table, status)


def surface_pairs(trades: Iterable[Trade], signals: dict[str, Signal]) -> tuple[dict[str, list[Pair]], int]:
    """Surface -> (p_model, won) pairs; and how many resolved trades had no signal to score."""
    pairs: dict[str, list[Pair]] = {}
    missing = 0
    for trade in trades:
        signal = signals.get(trade.signal_id)
        if signal is None:
            missing += 1
            continue
        pairs.setdefault(trade.surface, []).append((signal.p_model, (trade.pnl or 0) > 0))
    return pairs, missing


def _answer_pair(answer: dict[str, Any], won: bool) -> tuple[str, Pair] | None:
    model, p = answer.get("model"), answer.get("p")
    if answer.get("abstained") or not isinstance(model, str) or isinstance(p, bool):
        return None
    if not isinstance(p, int | float) or not math.isfinite(p) or not 0.0 <= p <= 1.0:
        return None
    return model, (float(p), won)


def model_pairs(trades: Iterable[Trade], answers: dict[str, list[dict[str, Any]]]) -> tuple[
        dict[str, list[Pair]], int, int]:
    """Model -> pairs; trades with no recorded answers; answers that were neither valid nor an abstention."""
    pairs: dict[str, list[Pair]] = {}
    without = invalid = 0
    for trade in trades:
        recorded = answers.get(trade.signal_id)
        if not recorded:
            without += 1
            continue
        won = (trade.pnl or 0) > 0
        yes_happened = won if trade.side in ("yes", "long") else not won
        for answer in recorded:
            pair = _answer_pair(answer, yes_happened)
            if pair is None:
                invalid += 0 if answer.get("abstained") else 1
                continue
            pairs.setdefault(pair[0], []).append(pair[1])
    return pairs, without, invalid


def sources_label(kinds: set[str]) -> str:
    """The result kinds present, in words and a fixed order: "synthetic (sim) + real-data paper"."""
    return " + ".join(result_label(k) for k in RESULT_KINDS if k in kinds)


def build_calibration(trades: Sequence[Trade], signals: dict[str, Signal], answers: dict[str, list[dict[str, Any]]],
                      tolerance: float = DEFAULT_TOLERANCE,
                      min_samples: int = DEFAULT_MIN_SAMPLES) -> CalibrationSection:
    """Score every surface and every model over the resolved trades of the window, and each surface against the
    market."""
    by_surface, no_signal = surface_pairs(trades, signals)
    by_model, no_answers, invalid = model_pairs(trades, answers)
    kinds: dict[str, set[str]] = {}
    for trade in trades:
        if trade.signal_id in signals:
            kinds.setdefault(trade.surface, set()).add(result_kind(trade))
    surfaces = [dataclasses.replace(assess(k, v, tolerance, min_samples), sources=sources_label(kinds.get(k, set())))
                for k, v in sorted(by_surface.items())]
    return CalibrationSection(
        tolerance=tolerance, min_samples=min_samples,
        surfaces=surfaces,
        models=[assess(k, v, tolerance, min_samples) for k, v in sorted(by_model.items())],
        trades_without_signal=no_signal, trades_without_answers=no_answers, invalid_answers=invalid,
        skill=skill_by_surface(trades, signals),
    )
