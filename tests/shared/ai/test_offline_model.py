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
from shared.config import SurfaceSettings
from shared.paths import stream_path


def q(p_market: float, **context: object) -> MarketQuestion:
    return MarketQuestion(market_id="EUR_USD", question="EUR_USD long bracket", p_market=p_market, context=context)


def test_by_default_the_baseline_is_the_market_itself_with_low_confidence() -> None:
    """An honest baseline: no model, no opinion. It returns the market's probability (so after fees it never has an
    edge) with a confidence below the default MIN_CONFIDENCE."""
    model = OfflineModel()
    for p in (0.05, 0.3, 0.5, 0.8):
        assert model.probability(q(p)) == p
    assert model.answer(q(0.4)).confidence == 0.3 < SurfaceSettings().min_confidence


def test_slope_above_one_extremizes_below_one_shrinks() -> None:
    assert OfflineModel(slope=1.1).probability(q(0.8)) > 0.8
    assert OfflineModel(slope=1.1).probability(q(0.2)) < 0.2
    assert 0.5 < OfflineModel(slope=0.5).probability(q(0.8)) < 0.8
    # Toward a base rate below one half.
    assert OfflineModel(slope=0.1, base_rate=0.3).probability(q(0.9)) == pytest.approx(
        1 / (1 + math.exp(-(math.log(3 / 7) + 0.1 * (math.log(9) - math.log(3 / 7)))))
    )


def test_nothing_but_the_market_price_moves_it() -> None:
    """The strategy's own signal (a trend, a tilt) is no input: the same price gives the same answer whatever
    research the question carries, so the baseline can never echo the strategy it is compared with."""
    model = OfflineModel(slope=1.3)
    plain = model.probability(q(0.42))
    assert model.probability(q(0.42, rules="resolves on the close", close_time="2026-01-01T00:00:00+00:00")) == plain
    assert model.probability(q(0.42, yes_bid="0.9", trend=1.0)) == plain  # stripped before it gets here, too


@given(st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=0.1, max_value=3.0))
def test_always_a_probability_and_deterministic(p: float, slope: float) -> None:
    model = OfflineModel(slope=slope)
    first = model.probability(q(p))
    assert 0.01 <= first <= 0.99
    assert OfflineModel(slope=slope).probability(q(p)) == first


def test_keyless_surface_runs_offline_labelled_free_and_reports_no_spread(kit: ModuleType, log_dir: Path) -> None:
    settings = kit.LtSettings(log_dir=log_dir)
    ensemble = build_ensemble(settings, log_dir, "fx", WallClock())
    assert ensemble.models == ("offline-baseline",)
    question = q(0.45)
    results = [ensemble.predict(question), build_ensemble(settings, log_dir, "fx", WallClock()).predict(question)]
    for result in results:
        assert result.models == ("offline-baseline",) and not result.llm_answered
        assert result.answers[0].model == "offline-baseline" and not result.answers[0].abstained
        # A lone baseline is not agreement: no spread, labelled as what it is.
        assert result.model_spread is None and result.opinions == "offline baseline only"
        assert result.confidence == settings.llm_offline_confidence
        assert not result.unreliable and result.cost_usd == 0
    assert results[0].p == results[1].p == 0.45
    assert results[0].p_for_side("short") == pytest.approx(1 - results[0].p)
    assert not stream_path(log_dir, "fx", "costs").exists()  # nothing paid, nothing logged
