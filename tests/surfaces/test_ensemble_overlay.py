"""The ensemble as a second opinion on FX / stock brackets: asked without the price or the strategy's features,
blended only when a model answered, and never reported as agreement when none did."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shared.ai.ensemble import Ensemble, build_ensemble
from shared.clock import SteppedClock
from shared.venues.base import Instrument
from surfaces.ensemble_overlay import EnsembleOverlay, bracket_question
from surfaces.strategy import Proposal, TickContext

from ..shared.ai.conftest import kit, vendors  # noqa: F401  (fixtures: the vendor fakes under the real SDKs)

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)
PAIR = Instrument("sim", "EUR_USD", "fx", "EUR/USD", "fx_major", "EUR_USD", tick_size=Decimal("0.00001"))
# What bracket_proposal puts in a proposal's context: the strategy's own features and the quote's spread.
FEATURES = {"atr": "0.0015", "ema_fast": "1.10190", "ema_slow": "1.10010", "roc": "0.0021",
            "sl_distance": "0.00225", "tp_distance": "0.0030", "spread": "0.00012"}


def bracket(side: str = "long", p_model: float = 0.50) -> Proposal:
    if side == "long":
        entry, stop, target = Decimal("1.10234"), Decimal("1.10009"), Decimal("1.10534")
    else:
        entry, stop, target = Decimal("1.10222"), Decimal("1.10447"), Decimal("1.09922")
    return Proposal(sub_strategy="fx_atr_trend", instrument=PAIR, side=side, price=entry,  # type: ignore[arg-type]
                    p_model=p_model, p_market=0.4286, confidence=0.7, models=("strategy:fx_atr_trend",),
                    stop_loss=stop, take_profit=target, eta_hours=1.5, context=dict(FEATURES))


class OneProposal:
    name = "fx_atr_trend"

    def __init__(self, proposal: Proposal) -> None:
        self.proposal = proposal

    def propose(self, tick: TickContext) -> Iterator[Proposal]:
        yield self.proposal


def overlaid(ensemble: Ensemble, proposal: Proposal) -> Proposal:
    tick = TickContext(None, NOW, (PAIR,))  # type: ignore[arg-type]
    [out] = EnsembleOverlay(OneProposal(proposal), ensemble).propose(tick)
    return out


def keyed(helpers: ModuleType, fakes: Any, log_dir: Path, **overrides: Any) -> Ensemble:
    return build_ensemble(helpers.keyed_settings(log_dir, **overrides), log_dir, "fx", SteppedClock(NOW),
                          http_clients=fakes.clients(), sleep=lambda _: None, grace_seconds=0.2)


def test_the_question_is_distances_and_time_from_the_long_side() -> None:
    long_q = bracket_question(bracket("long"))
    assert long_q.question == "Will EUR/USD rise by 0.003 before it falls by 0.0022?"
    assert long_q.context == {"instrument": "EUR_USD", "rise_in_atrs": "2", "fall_in_atrs": "1.5",
                              "expected_hours_to_stop": 1.5}
    # A short is the same bracket seen from the long side: rise by its stop distance before falling by its target.
    short_q = bracket_question(bracket("short"))
    assert short_q.question == "Will EUR/USD rise by 0.0022 before it falls by 0.003?"
    assert short_q.p_market == pytest.approx(1 - 0.4286)


def test_what_the_sdks_send_holds_no_price_and_no_strategy_feature(
    kit: ModuleType, vendors: Any, log_dir: Path  # noqa: F811
) -> None:
    for vendor, p in zip(vendors.all(), (0.45, 0.5, 0.4, 0.55), strict=True):
        vendor.reply(p, 0.6)
    ensemble = keyed(kit, vendors, log_dir)
    out = overlaid(ensemble, bracket("long"))
    ensemble.close()
    for vendor in vendors.all():
        sent = vendor.requests[0].content.decode()
        assert "rise by 0.003 before it falls by 0.0022" in sent
        for leak in ("1.10234", "1.10009", "1.10534", "1.1019", "1.1001", "0.0021", "0.00012", "ema_fast",
                     "ema_slow", "roc", "spread", "strategy_tilt", "0.4286", "0.571"):
            assert leak not in sent, f"{vendor.name} was sent {leak!r}"
    assert out.models == ("strategy:fx_atr_trend", "claude-sonnet-4-6", "gpt-4o", "gemini-2.5-flash",
                          "deepseek-v4-flash")
    assert out.context["opinions"] == "strategy + 4 models" and out.model_spread is not None


def test_without_keys_the_proposal_stays_the_strategys_alone(kit: ModuleType, log_dir: Path) -> None:  # noqa: F811
    """The offline baseline is the driftless odds, not a second opinion: no blend, no spread, labelled as such."""
    ensemble = build_ensemble(kit.LtSettings(log_dir=log_dir), log_dir, "fx", SteppedClock(NOW))
    proposal = bracket("long", p_model=0.49)
    out = overlaid(ensemble, proposal)
    assert (out.p_model, out.confidence, out.models) == (proposal.p_model, proposal.confidence, proposal.models)
    assert out.model_spread is None and out.context["opinions"] == "strategy only"
    assert out.context["ensemble"]["opinions"] == "offline baseline only"


def test_keys_but_no_answer_is_no_trade(kit: ModuleType, vendors: Any, log_dir: Path) -> None:  # noqa: F811
    for vendor in vendors.all():
        vendor.reply_text("not json")
    ensemble = keyed(kit, vendors, log_dir)
    out = overlaid(ensemble, bracket("long"))
    ensemble.close()
    assert out.confidence == 0.0 and out.model_spread is None
    assert out.context["opinions"] == "strategy only: no model answered"


def test_one_model_against_the_strategy_is_two_opinions(kit: ModuleType, vendors: Any, log_dir: Path) -> None:  # noqa: F811
    """Strategy 0.50 long, one model says 0.40: the blend is 0.45 and the spread of the two opinions 0.05."""
    vendors.anthropic.reply(0.40, 0.6)
    ensemble = keyed(kit, vendors, log_dir, openai_api_key=None, gemini_api_key=None, deepseek_api_key=None)
    out = overlaid(ensemble, bracket("long", p_model=0.50))
    ensemble.close()
    assert out.p_model == pytest.approx(0.45) and out.model_spread == pytest.approx(0.05)
    assert out.confidence == 0.6 and out.context["opinions"] == "strategy + 1 model"
