"""The long-term strategy asks the models about the market, never about its price; one model is not agreement.

Driven through the real SDKs (the vendor fakes of tests/shared/ai over ``httpx2.MockTransport``): the test reads
what each SDK actually sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from shared.ai.ensemble import Ensemble, build_ensemble
from shared.clock import SteppedClock
from shared.venues.base import Instrument, Quote
from surfaces.kalshi_lt.strategy import LongTermEnsembleStrategy
from surfaces.strategy import Proposal, TickContext

from ...shared.ai.conftest import kit, vendors  # noqa: F401  (fixtures: the vendor fakes under the real SDKs)

NOW = datetime(2026, 3, 2, 15, tzinfo=UTC)
MARKET = Instrument("sim", "KXFEDDECISION-26DEC-H0", "binary", "Will the Fed hold rates in December 2026?",
                    "macro", "KXFEDDECISION-26DEC", close_time=datetime(2026, 12, 10, 19, tzinfo=UTC))
LEAKS = ("0.18", "0.21", "0.195", "0.30", "0.33", "0.315", "yes_bid", "yes_ask", "trend", "mid")


class QuoteVenue:
    """One market whose quote the test moves between ticks."""

    name = "sim"

    def __init__(self, bid: str, ask: str) -> None:
        self.bid, self.ask = Decimal(bid), Decimal(ask)

    def quote(self, symbol: str) -> Quote:
        return Quote(symbol, NOW, self.bid, self.ask)


def _ensemble(helpers: ModuleType, fakes: Any, log_dir: Path, **overrides: Any) -> Ensemble:
    return build_ensemble(helpers.keyed_settings(log_dir, **overrides), log_dir, "kalshi_lt", SteppedClock(NOW),
                          http_clients=fakes.clients(), sleep=lambda _: None, grace_seconds=0.2)


def _two_ticks(strategy: LongTermEnsembleStrategy) -> list[Proposal]:
    """A first tick at 0.18/0.21, a second 20 minutes later at 0.30/0.33: the market trended up by 12 points."""
    venue = QuoteVenue("0.18", "0.21")
    proposals = list(strategy.propose(TickContext(venue, NOW, (MARKET,))))  # type: ignore[arg-type]
    venue.bid, venue.ask = Decimal("0.30"), Decimal("0.33")
    later = NOW + timedelta(minutes=20)
    return proposals + list(strategy.propose(TickContext(venue, later, (MARKET,))))  # type: ignore[arg-type]


def test_no_model_is_shown_the_price_or_its_trend(kit: ModuleType, vendors: Any, log_dir: Path) -> None:  # noqa: F811
    for vendor, p in zip(vendors.all(), (0.62, 0.6, 0.66, 0.58), strict=True):
        vendor.reply(p, 0.8)
    ensemble = _ensemble(kit, vendors, log_dir)
    strategy = LongTermEnsembleStrategy(ensemble, ("macro",), trend_window=timedelta(minutes=30))
    proposals = _two_ticks(strategy)
    ensemble.close()
    assert len(proposals) == 2 and all(p.side == "yes" for p in proposals)
    # The quote moved, the question did not: the second tick is served from the cache (one paid call per model).
    assert all(len(vendor.requests) == 1 for vendor in vendors.all())
    for vendor in vendors.all():
        sent = vendor.requests[0].content.decode()
        assert "Will the Fed hold rates in December 2026?" in sent and "2026-12-10T19:00:00+00:00" in sent
        for leak in LEAKS:
            assert leak not in sent, f"{vendor.name} was sent {leak!r}"
    # The market's own trend is kept for the record, not for the models.
    last = proposals[-1]
    assert last.context["market_trend"] == 1.0  # +12 points over the window, scale 0.10: full strength
    assert last.model_spread is not None and last.context["opinions"] == "4 models"


def test_one_answer_is_a_single_model_not_agreement(kit: ModuleType, vendors: Any, log_dir: Path) -> None:  # noqa: F811
    vendors.anthropic.reply(0.5, 0.8)
    ensemble = _ensemble(kit, vendors, log_dir, openai_api_key=None, gemini_api_key=None, deepseek_api_key=None)
    strategy = LongTermEnsembleStrategy(ensemble, ("macro",))
    [proposal] = strategy.propose(TickContext(QuoteVenue("0.18", "0.21"), NOW, (MARKET,)))  # type: ignore[arg-type]
    ensemble.close()
    assert proposal.models == ("claude-sonnet-4-6",)
    assert proposal.model_spread is None and proposal.context["opinions"] == "single model"
    assert proposal.context["ensemble"]["model_spread"] is None


def test_without_keys_the_baseline_is_the_market_and_proposes_nothing(kit: ModuleType, log_dir: Path) -> None:  # noqa: F811
    """The offline baseline is the market's own mid: after the spread there is no side with an edge, so a keyless
    long-term surface stays out instead of trading an echo."""
    ensemble = build_ensemble(kit.LtSettings(log_dir=log_dir), log_dir, "kalshi_lt", SteppedClock(NOW))
    strategy = LongTermEnsembleStrategy(ensemble, ("macro",), trend_window=timedelta(minutes=30))
    assert _two_ticks(strategy) == []
    ensemble.close()
