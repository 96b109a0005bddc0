"""The offline baseline: deterministic, labelled, and what a keyless paper surface runs on."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.ai.ensemble import build_ensemble
from shared.ai.offline import OfflineModel
from shared.ai.schema import MarketQuestion
from shared.clock import WallClock
from shared.paths import stream_path


def q(p_market: float, **features: float) -> MarketQuestion:
    return MarketQuestion(market_id="EUR_USD", question="EUR_USD long bracket", p_market=p_market, features=features)


def test_slope_one_without_features_returns_the_market() -> None:
    model = OfflineModel(slope=1.0)
    for p in (0.05, 0.3, 0.5, 0.8):
        assert model.probability(q(p)) == pytest.approx(p)


def test_slope_above_one_extremizes_below_one_shrinks() -> None:
    assert OfflineModel(slope=1.1).probability(q(0.8)) > 0.8
    assert OfflineModel(slope=1.1).probability(q(0.2)) < 0.2
    assert 0.5 < OfflineModel(slope=0.5).probability(q(0.8)) < 0.8
    # Toward a base rate below one half.
    assert OfflineModel(slope=0.0, base_rate=0.3).probability(q(0.9)) == pytest.approx(0.3)


def test_features_tilt_in_logit_space_and_order_does_not_matter() -> None:
    model = OfflineModel(slope=1.0, feature_weight=0.5)
    up = model.probability(q(0.5, trend=1.0, carry=0.0))
    assert up == pytest.approx(1 / (1 + math.exp(-0.25)))
    assert model.probability(q(0.5, carry=0.0, trend=1.0)) == up
    assert model.probability(q(0.5, trend=-1.0, carry=0.0)) == pytest.approx(1 - up)


@given(st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=-1.0, max_value=1.0))
def test_always_a_probability_and_deterministic(p: float, feature: float) -> None:
    model = OfflineModel()
    first = model.probability(q(p, trend=feature))
    assert 0.01 <= first <= 0.99
    assert OfflineModel().probability(q(p, trend=feature)) == first


def test_keyless_surface_runs_offline_labelled_and_free(kit: ModuleType, log_dir: Path) -> None:
    settings = kit.LtSettings(log_dir=log_dir)
    ensemble = build_ensemble(settings, log_dir, "fx", WallClock())
    assert ensemble.models == ("offline-baseline",)
    question = q(0.45, trend=0.4)
    results = [ensemble.predict(question), build_ensemble(settings, log_dir, "fx", WallClock()).predict(question)]
    for result in results:
        assert result.models == ("offline-baseline",)
        assert result.answers[0].model == "offline-baseline" and not result.answers[0].abstained
        assert result.confidence == settings.llm_offline_confidence and result.model_spread == 0.0
        assert not result.unreliable and result.cost_usd == 0
    assert results[0].p == results[1].p == OfflineModel().probability(question)
    assert results[0].p_for_side("short") == pytest.approx(1 - results[0].p)
    assert not stream_path(log_dir, "fx", "costs").exists()  # nothing paid, nothing logged
