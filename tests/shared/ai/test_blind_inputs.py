"""No market price reaches a model: price-like context keys are removed (and logged) before anything is hashed or
sent, and the prompts the four real SDKs send carry none of the quote's numbers."""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shared.ai.blind import blind_context, is_price_key
from shared.ai.ensemble import build_ensemble
from shared.ai.prompt import user_prompt
from shared.ai.schema import MarketQuestion
from shared.clock import SteppedClock
from shared.timeutil import utcnow


@pytest.mark.parametrize(
    "key",
    ["yes_bid", "yes_ask", "yesBid", "no_ask", "last", "last_price", "mid", "price", "p_market", "market_probability",
     "trend", "momentum", "roc", "ema_fast", "spread", "vwap", "close", "open", "high", "implied_odds", "quotes"],
)
def test_price_like_keys(key: str) -> None:
    assert is_price_key(key)


@pytest.mark.parametrize(
    "key",
    ["close_time", "open_time", "hours_to_close", "days_to_close", "rules", "category", "market_id", "news",
     "floor_strike", "cap_strike", "strike_type", "cme_fedwatch_hold", "rise_in_atrs", "expected_hours_to_stop"],
)
def test_keys_that_are_not_prices(key: str) -> None:
    assert not is_price_key(key)


def test_nested_prices_are_removed_and_named() -> None:
    context = {"rules": "r", "book": {"yes_bid": "0.18", "depth": 3}, "history": [{"mid": 0.2, "at": "t"}]}
    clean, removed = blind_context(context)
    assert clean == {"rules": "r", "book": {"depth": 3}, "history": [{"at": "t"}]}
    assert removed == ("book.yes_bid", "history[0].mid")


def test_a_question_drops_its_prices_with_a_warning_and_keeps_its_cache_key(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="shared.ai.schema"):
        priced = MarketQuestion(market_id="KXFED-H0", question="Will the Fed hold?", p_market=0.2,
                                context={"yes_bid": "0.18", "yes_ask": "0.21", "close_time": "2026-12-10"})
    assert priced.context == {"close_time": "2026-12-10"}
    assert "KXFED-H0: market-price keys yes_bid, yes_ask removed" in caplog.text
    # The price never reaches the cache key either: a moving quote does not buy a new paid call.
    plain = MarketQuestion(market_id="KXFED-H0", question="Will the Fed hold?", p_market=0.7,
                           context={"close_time": "2026-12-10"})
    assert priced.context_hash() == plain.context_hash()


def test_the_prompt_refuses_a_context_built_around_the_validator() -> None:
    sneaked = MarketQuestion.model_construct(market_id="M", question="Q?", p_market=0.2, category="",
                                             context={"yes_ask": "0.21"})
    with pytest.raises(ValueError, match="market prices in the models' context: yes_ask"):
        user_prompt(sneaked)


def test_the_prompts_the_sdks_send_carry_no_price(kit: ModuleType, vendors: Any, log_dir: Path) -> None:
    """The four vendors' SDKs, over mock transports: what each one actually sent holds neither the quote's numbers
    nor its keys, only the question and the allowed research."""
    for vendor, p in zip(vendors.all(), (0.3, 0.35, 0.25, 0.4), strict=True):
        vendor.reply(p)
    ensemble = build_ensemble(kit.keyed_settings(log_dir), log_dir, "kalshi_lt", SteppedClock(utcnow()),
                              http_clients=vendors.clients(), sleep=lambda _: None, grace_seconds=0.2)
    question = MarketQuestion(
        market_id="KXFEDDECISION-26DEC-H0", question="Will the Fed hold rates in December 2026?", p_market=0.195,
        category="macro",
        context={"yes_bid": "0.18", "yes_ask": "0.21", "last_price": "0.19", "trend": 0.4,
                 "close_time": "2026-12-10T19:00:00+00:00", "rules": "YES if the target range is unchanged."},
    )
    result = ensemble.predict(question)
    ensemble.close()
    assert len(result.models) == 4 and result.model_spread is not None and result.opinions == "4 models"
    for vendor in vendors.all():
        assert len(vendor.requests) == 1
        sent = vendor.requests[0].content.decode()
        assert "Will the Fed hold rates in December 2026?" in sent and "target range is unchanged" in sent
        assert "close_time" in sent
        for leak in ("0.18", "0.21", "0.19", "0.195", "yes_bid", "yes_ask", "last_price", "trend"):
            assert leak not in sent, f"{vendor.name} was sent {leak!r}"
