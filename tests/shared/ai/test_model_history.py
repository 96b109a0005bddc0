"""Per-model calibration from decisions joined with resolved trades, and the learned (inverse-Brier) weights."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shared.ai.ensemble import aggregate, build_ensemble
from shared.ai.history import ENSEMBLE_KEY, calibration_report, learned_weights, model_outcomes
from shared.ai.schema import EnsembleResult, ModelAnswer
from shared.clock import WallClock
from shared.ids import derive_id
from shared.paths import open_stream
from shared.records import Decision, Trade
from shared.timeutil import utcnow

SURFACE = "kalshi_lt"
SHARP, NOISY = "claude-sonnet-4-6", "gpt-4o"


def answer(model: str, p: float | None) -> ModelAnswer:
    return ModelAnswer(
        model=model, provider="x", weight=0.5, p=p, confidence=None if p is None else 0.7, abstained=p is None
    )


def write_history(log_dir: Path, count: int, seed: int = 3) -> list[tuple[str, bool]]:
    """``count`` accepted and resolved candidates; SHARP forecasts well, NOISY at random."""
    rng = random.Random(seed)
    decisions, trades = open_stream(log_dir, SURFACE, "decisions"), open_stream(log_dir, SURFACE, "trades")
    truth: list[tuple[str, bool]] = []
    for index in range(count):
        yes = rng.random() < 0.5
        side = "yes" if index % 2 == 0 else "no"
        answers = (answer(SHARP, 0.85 if yes else 0.15), answer(NOISY, rng.random()), answer("gemini-2.5-flash", None))
        combined = aggregate(answers)
        assert combined is not None
        result = EnsembleResult(
            market_id=f"M{index}",
            context_hash="h",
            p=combined.p,
            model_spread=combined.spread,
            confidence=combined.confidence,
            models=(SHARP, NOISY),
            answers=answers,
            unreliable=False,
        )
        signal_id = derive_id("signal", f"M{index}")
        decisions.append(
            Decision(
                decided_at=utcnow(),
                surface=SURFACE,
                sub_strategy="macro",
                instrument=f"M{index}",
                side=side,
                candidate_id=signal_id,
                accepted=True,
                gates=(),
                context={"ensemble": result.to_context()},
            )
        )
        won = yes if side == "yes" else not yes
        common: dict[str, Any] = {
            "id": derive_id("trade", signal_id),
            "signal_id": signal_id,
            "client_order_id": derive_id("coid", signal_id),
            "surface": SURFACE,
            "venue": "sim",
            "instrument": f"M{index}",
            "side": side,
        }
        trades.append(Trade(status="filled", **common))
        trades.append(Trade(status="resolved", pnl=120 if won else -100, **common))
        truth.append((side, yes))
    # A rejected candidate and an unresolved one contribute nothing.
    decisions.append(
        Decision(
            decided_at=utcnow(),
            surface=SURFACE,
            sub_strategy="macro",
            instrument="X",
            side="yes",
            candidate_id="never-traded",
            accepted=False,
            gates=(),
            context={},
        )
    )
    return truth


def test_outcomes_join_decisions_and_resolved_trades(log_dir: Path) -> None:
    truth = write_history(log_dir, 12)
    outcomes = model_outcomes(log_dir, SURFACE)
    assert set(outcomes) == {SHARP, NOISY, ENSEMBLE_KEY}  # an abstaining model has no pairs
    assert len(outcomes[SHARP]) == 12
    # The event is YES whatever side was traded: a lost "no" trade means YES happened.
    assert [happened for _, happened in outcomes[SHARP]] == [yes for _, yes in truth]
    assert all((p > 0.5) == happened for p, happened in outcomes[SHARP])


def test_the_overlay_context_layout_is_read_too(log_dir: Path) -> None:
    write_history(log_dir, 6)
    # Rewrite the decisions in the surfaces' layout: answers beside a summary, not nested in it.
    path = log_dir / SURFACE / "decisions.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    path.unlink()
    decisions = open_stream(log_dir, SURFACE, "decisions")
    for data in lines:
        data.pop("ts")
        ensemble = data["context"].get("ensemble")
        if ensemble:
            data["context"] = {"model_answers": ensemble["answers"], "ensemble": {"p": ensemble["p"]}}
        decisions.append(data)
    outcomes = model_outcomes(log_dir, SURFACE)
    assert len(outcomes[SHARP]) == len(outcomes[NOISY]) == len(outcomes[ENSEMBLE_KEY]) == 6


def test_calibration_report_and_learned_weights(log_dir: Path) -> None:
    write_history(log_dir, 40)
    report = {row.model: row for row in calibration_report(log_dir, [SURFACE, "fx"])}
    assert report[SHARP].count == 40 and report[SHARP].brier == pytest.approx(0.15**2)
    assert report[NOISY].brier > report[SHARP].brier
    assert sum(bucket.count for bucket in report[SHARP].reliability) == 40
    weights = learned_weights(model_outcomes(log_dir, SURFACE), min_resolved=30)
    assert set(weights) == {SHARP, NOISY} and sum(weights.values()) == pytest.approx(1.0)
    assert weights[SHARP] > 0.8
    assert learned_weights(model_outcomes(log_dir, SURFACE), min_resolved=41) == {}


def test_learned_weights_are_off_by_default_and_all_or_nothing(kit: ModuleType, log_dir: Path) -> None:
    write_history(log_dir, 40)
    keys = {"anthropic_api_key": "a", "openai_api_key": "o"}
    two = {"llm_models": "anthropic:claude-sonnet-4-6,openai:gpt-4o", **keys}
    default = build_ensemble(kit.LtSettings(log_dir=log_dir, **two), log_dir, SURFACE, WallClock())
    assert default.weights == {SHARP: 0.4, NOISY: 0.25}
    learned = build_ensemble(
        kit.LtSettings(log_dir=log_dir, llm_learned_weights=True, **two), log_dir, SURFACE, WallClock()
    )
    assert learned.weights[SHARP] > 0.8 and sum(learned.weights.values()) == pytest.approx(1.0)
    # Gemini has no history: the configured weights stay rather than a mix of both scales.
    three = {"llm_models": two["llm_models"] + ",gemini:gemini-2.5-flash", "gemini_api_key": "g", **keys}
    partial = build_ensemble(
        kit.LtSettings(log_dir=log_dir, llm_learned_weights=True, **three), log_dir, SURFACE, WallClock()
    )
    assert partial.weights == {SHARP: 0.4, NOISY: 0.25, "gemini-2.5-flash": 0.2}
