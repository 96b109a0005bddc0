from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from shared.venues.base import Candle, Instrument, Quote
from surfaces.brackets import BracketParams, bracket_proposal
from surfaces.indicators import atr, ema, rate_of_change

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PAIR = Instrument("sim", "EUR_USD", "fx", "EUR/USD", "fx", "EUR_USD", tick_size=D("0.00001"))


def trending(n: int, step: str) -> list[Candle]:
    out = []
    price = D("1.1000")
    for i in range(n):
        close = price + D(step)
        out.append(Candle("EUR_USD", T0 + timedelta(hours=i), 3600, price, max(price, close) + D("0.0005"),
                          min(price, close) - D("0.0005"), close))
        price = close
    return out


def test_indicators_on_known_values() -> None:
    candles = trending(20, "0.0010")
    # Every bar after the first: high − low = 0.0020 and gaps are zero, so TR = ATR = 0.0020.
    assert atr(candles, 14) == D("0.0020")
    assert ema([D(1), D(2), D(3)], 3) == D(2)
    assert rate_of_change([D(100), D(110)], 1) == D("0.1")
    assert atr(candles[:5], 14) is None


def test_uptrend_gives_a_long_with_sl_and_tp_at_atr_multiples_and_eta_from_atr() -> None:
    candles = trending(60, "0.0010")
    quote = Quote("EUR_USD", T0, D("1.1599"), D("1.1601"))
    p = BracketParams()
    proposal = bracket_proposal("fx_atr", PAIR, candles, quote, p)
    assert proposal is not None and proposal.side == "long"
    assert proposal.price == D("1.1601")
    assert proposal.stop_loss == D("1.1601") - D("1.5") * D("0.0020")
    assert proposal.take_profit == D("1.1601") + D("2.0") * D("0.0020")
    assert proposal.stop_loss.as_tuple().exponent == -5 and proposal.take_profit.as_tuple().exponent == -5
    assert proposal.p_market == pytest.approx(1.5 / 3.5)
    assert proposal.p_model > proposal.p_market
    # SL distance 0.0030 at an ATR of 0.0020 per hour: 1.5 hours.
    assert proposal.eta_hours == pytest.approx(1.5)


def test_downtrend_is_short_and_a_flat_market_proposes_nothing() -> None:
    down = bracket_proposal("fx_atr", PAIR, trending(60, "-0.0010"), Quote("EUR_USD", T0, D("1.04"), D("1.0402")),
                            BracketParams())
    assert down is not None and down.side == "short" and down.price == D("1.04")
    assert down.stop_loss is not None and down.stop_loss > down.price
    assert down.stop_loss.as_tuple().exponent >= -5
    flat = trending(60, "0")
    assert bracket_proposal("fx_atr", PAIR, flat, Quote("EUR_USD", T0, D("1.1"), D("1.1002")), BracketParams()) is None
