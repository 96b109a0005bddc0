"""Per-model, per-surface calibration from resolved outcomes, and the optional learned weights.

Where the history comes from: a surface loop writes ``EnsembleResult.to_context()`` into the decision record's
``context["ensemble"]`` (or the answers as ``context["model_answers"]``); the resolver later appends the trade's
``resolved`` state (``pnl > 0`` = won). Joining the two on ``decision.candidate_id == trade.signal_id`` gives, for
every model that answered, the pair ``(its P(YES / long), whether YES / long happened)``. For ``no`` / ``short``
trades the event is the opposite of the trade winning. For FX and stocks, "long happened" is read off the short
bracket's result, which is exact only when both brackets are symmetric: an approximation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.ai.calibration import (
    Pair,
    ReliabilityBucket,
    brier_score,
    expected_calibration_error,
    log_loss,
    reliability_table,
)
from shared.ai.settings import OFFLINE_MODEL
from shared.money.portfolio import Portfolio
from shared.paths import open_stream
from shared.records import Trade, parse_record

log = logging.getLogger(__name__)

ENSEMBLE_KEY = "ensemble"
"""The pseudo-model under which the combined ``p`` is scored."""

_BRIER_FLOOR = 0.01  # keeps one lucky model from taking all the weight


@dataclass(frozen=True, slots=True)
class ModelCalibration:
    """One model's calibration on one surface."""

    surface: str
    model: str
    count: int
    brier: float
    log_loss: float
    ece: float
    reliability: tuple[ReliabilityBucket, ...]


def _resolved_trades(log_dir: Path, surface: str) -> dict[str, Trade]:
    """signal id -> the trade's resolved state, through the portfolio fold (both modes: calibration is per model)."""
    portfolio = Portfolio(surface, None, bankroll_cents=0)
    for entry in open_stream(log_dir, surface, "trades").reader().read():
        if entry.data.get("kind") != "trade" or entry.data.get("status") != "resolved":
            continue
        try:
            trade = parse_record(Trade, entry.data, entry.ts)
        except ValidationError:
            log.warning("%s: skipped an invalid trade record stamped %s", surface, entry.ts)
            continue
        if trade.pnl is not None:
            portfolio.apply(trade)
    return {t.signal_id: t for t in portfolio.trades() if t.status == "resolved"}


def _yes_happened(side: str, won: bool) -> bool:
    return won if side in ("yes", "long") else not won


def _probabilities(context: Mapping[str, Any]) -> Iterable[tuple[str, float]]:
    """(model, P(YES / long)) pairs from a decision's context.

    Two layouts are read: ``context["ensemble"] = EnsembleResult.to_context()`` (answers nested under it) and
    the surfaces' overlay layout (``context["model_answers"]`` beside a summary ``context["ensemble"]``).
    """
    ensemble = context.get("ensemble")
    ensemble = ensemble if isinstance(ensemble, dict) else {}
    answers = ensemble.get("answers", context.get("model_answers"))
    if isinstance(answers, list):
        for answer in answers:
            if not isinstance(answer, dict) or answer.get("abstained"):
                continue
            model, p = answer.get("model"), answer.get("p")
            if isinstance(model, str) and isinstance(p, int | float) and 0.0 <= p <= 1.0:
                yield model, float(p)
    p = ensemble.get("p")
    if isinstance(p, int | float) and not isinstance(p, bool) and 0.0 <= p <= 1.0:
        yield ENSEMBLE_KEY, float(p)


def model_outcomes(log_dir: Path, surface: str) -> dict[str, list[Pair]]:
    """``model -> [(P(YES / long), it happened)]`` over this surface's resolved trades (plus ``"ensemble"``)."""
    resolved = _resolved_trades(log_dir, surface)
    outcomes: dict[str, list[Pair]] = {}
    if not resolved:
        return outcomes
    for entry in open_stream(log_dir, surface, "decisions").reader().read():
        data = entry.data
        if data.get("kind") != "decision" or not data.get("accepted"):
            continue
        trade = resolved.get(str(data.get("candidate_id")))
        context = data.get("context")
        if trade is None or not isinstance(context, dict):
            continue
        happened = _yes_happened(trade.side, (trade.pnl or 0) > 0)
        for model, p in _probabilities(context):
            outcomes.setdefault(model, []).append((p, happened))
    return outcomes


def calibration_report(log_dir: Path, surfaces: Sequence[str], buckets: int = 10) -> list[ModelCalibration]:
    """Brier, log loss, ECE and the reliability table per surface and model (models with no history omitted)."""
    report: list[ModelCalibration] = []
    for surface in surfaces:
        for model, pairs in sorted(model_outcomes(log_dir, surface).items()):
            report.append(
                ModelCalibration(
                    surface=surface,
                    model=model,
                    count=len(pairs),
                    brier=brier_score(pairs),
                    log_loss=log_loss(pairs),
                    ece=expected_calibration_error(pairs, buckets),
                    reliability=tuple(reliability_table(pairs, buckets)),
                )
            )
    return report


def learned_weights(outcomes: Mapping[str, Sequence[Pair]], *, min_resolved: int = 30) -> dict[str, float]:
    """Inverse-Brier weights, normalised to sum to 1, for models with at least ``min_resolved`` outcomes.

    The combined ``"ensemble"`` entry and the offline fallback are not LLMs and get no weight. An empty answer
    means "not enough history": the configured weights stay.
    """
    scores = {
        model: max(brier_score(pairs), _BRIER_FLOOR)
        for model, pairs in outcomes.items()
        if model not in (ENSEMBLE_KEY, OFFLINE_MODEL) and len(pairs) >= min_resolved
    }
    if not scores:
        return {}
    inverse = {model: 1.0 / score for model, score in scores.items()}
    total = math.fsum(inverse.values())
    return {model: value / total for model, value in sorted(inverse.items())}
