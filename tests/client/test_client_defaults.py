"""Defaults that trade: the default rule takes a typical signal of every surface, caps hold a busy day, FX crosses
are priced with their USD rate, every signal not traded is counted by reason, and the replay chart's axis suits
its span.

Typical signals are bench/client_signal_rate.py's medians on the paper fleet: kalshi_st $0.52 with size_fraction
0.038, kalshi_lt $0.83 / 0.05, fx EUR_USD ~1.07 / 0.05 (and EUR_JPY crosses), stocks $185 a share / 0.197.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from client.config import ClientConfig, SizingSection
from client.pricing import UnsupportedInstrument, cost_cents
from client.replay import equity_figure, render_table, simulate
from client.sizing import size
from shared.signing import load_public_key, public_key_pem
from shared.timeutil import to_iso

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
EQUITY = 100_000  # the paper broker's default $1,000

TYPICAL: dict[str, dict[str, Any]] = {
    "kalshi_st": {"instrument": "KXHIGHNY-26JAN05-B31.5", "side": "yes", "limit_price": Decimal("0.52"),
                  "size_fraction": Decimal("0.038")},
    "kalshi_lt": {"surface": "kalshi_lt", "sub_strategy": "politics", "instrument": "KXFEDDECISION-26JAN-H0",
                  "side": "no", "limit_price": Decimal("0.83"), "size_fraction": Decimal("0.05")},
    "fx": {"surface": "fx", "sub_strategy": "fx_atr_trend", "instrument": "EUR_USD", "side": "long",
           "limit_price": Decimal("1.07000"), "size_fraction": Decimal("0.05"), "stop_loss": Decimal("1.06000"),
           "take_profit": Decimal("1.09000")},
    "stocks": {"surface": "stocks", "sub_strategy": "stk_atr_trend", "instrument": "AAPL", "side": "long",
               "limit_price": Decimal("185.00"), "size_fraction": Decimal("0.197"), "stop_loss": Decimal("180.00"),
               "take_profit": Decimal("195.00")},
}


@pytest.mark.parametrize("surface", list(TYPICAL))
def test_the_default_rule_takes_a_typical_signal_of_every_surface(make_signal, surface: str) -> None:
    rule = ClientConfig().sizing
    assert rule.rule == "operator_multiple" and rule.min_one_unit
    signal = make_signal(**TYPICAL[surface])
    decision = size(rule, signal, equity_cents=EQUITY, staked_today_cents=0, cash_cents=EQUITY)
    assert decision.quantity > 0, decision
    cost = cost_cents(signal.surface, signal.instrument, decision.worst_price, decision.quantity)
    assert cost <= rule.max_cents_per_signal


def test_one_unit_only_within_the_caps(make_signal) -> None:
    rule = ClientConfig().sizing
    dear = make_signal(**(TYPICAL["stocks"] | {"limit_price": Decimal("627.59")}))  # the fleet's dearest stock
    decision = size(rule, dear, equity_cents=EQUITY, staked_today_cents=0, cash_cents=EQUITY)
    assert (decision.quantity, decision.skip) == (0, "unit_over_signal_cap")
    stock = make_signal(**TYPICAL["stocks"])
    full_day = size(rule, stock, equity_cents=EQUITY, staked_today_cents=rule.max_cents_per_day - 100,
                    cash_cents=EQUITY)
    assert (full_day.quantity, full_day.skip) == (0, "day_cap")
    broke = size(rule, stock, equity_cents=EQUITY, staked_today_cents=0, cash_cents=10_000)
    assert (broke.quantity, broke.skip) == (0, "no_cash")
    strict = SizingSection(rule="fixed", fixed_cents=1_000, min_one_unit=False)
    small = size(strict, stock, equity_cents=EQUITY, staked_today_cents=0, cash_cents=EQUITY)
    assert (small.quantity, small.skip) == (0, "stake_too_small")


def test_the_default_day_cap_holds_the_busiest_measured_day(make_signal) -> None:
    """The fleet's busiest measured day: 38 kalshi_st, 14 kalshi_lt, 7 fx and 6 stock signals."""
    rule = ClientConfig().sizing
    day = [*(["kalshi_st"] * 38), *(["kalshi_lt"] * 14), *(["fx"] * 7), *(["stocks"] * 6)]
    staked = 0
    for surface in day:
        decision = size(rule, make_signal(**TYPICAL[surface]), equity_cents=EQUITY, staked_today_cents=staked,
                        cash_cents=10 * EQUITY)
        assert decision.quantity > 0, (surface, staked, decision)
        staked += decision.stake_cents
    assert staked <= rule.max_cents_per_day


def test_an_fx_cross_is_sized_with_its_usd_rate(make_signal) -> None:
    rule = ClientConfig().sizing
    cross = make_signal(**(TYPICAL["fx"] | {"instrument": "EUR_JPY", "limit_price": Decimal("162.500"),
                                            "stop_loss": Decimal("161.000"), "take_profit": Decimal("165.000")}))
    with pytest.raises(UnsupportedInstrument, match="USD_JPY"):
        size(rule, cross, equity_cents=EQUITY, staked_today_cents=0, cash_cents=EQUITY)
    decision = size(rule, cross, equity_cents=EQUITY, staked_today_cents=0, cash_cents=EQUITY,
                    usd_quote_rate=Decimal("150.000"))
    # $12.50 stake (0.25 × 0.05 × $1,000); one EUR is 162.5 × 1.002 JPY = $1.0855: 11 units.
    assert decision.quantity == 11


def _item(signal: Any, fill: str, outcome: str, minutes: int = 120, exit_price: str | None = None) -> dict[str, Any]:
    return {"signal": signal.to_json_dict(), "status": "resolved", "fill_price": fill, "exit_price": exit_price,
            "resolved_at": to_iso(signal.published_at + timedelta(minutes=minutes)), "resolution_source": "sim",
            "pnl_cents": 0, "outcome": outcome}


def test_replay_counts_every_signal_not_traded_by_reason(make_config, make_signal, operator_key) -> None:
    key = load_public_key(public_key_pem(operator_key))
    config = make_config(sizing={"rule": "operator_multiple", "operator_multiple": "0.25", "min_one_unit": True,
                                 "max_cents_per_signal": 30_000, "max_cents_per_day": 200_000},
                         feed={"surfaces": ["kalshi_st", "fx", "stocks"]})
    st = make_signal(published_at=T0, **TYPICAL["kalshi_st"])
    stock = make_signal(published_at=T0 + timedelta(minutes=1), **TYPICAL["stocks"])
    dear_fields = TYPICAL["stocks"] | {"instrument": "AVGO", "limit_price": Decimal("627.59")}
    dear = make_signal(published_at=T0 + timedelta(minutes=2), **dear_fields)
    lt = make_signal(published_at=T0 + timedelta(minutes=3), **TYPICAL["kalshi_lt"])
    usd_jpy = make_signal(published_at=T0 + timedelta(minutes=4), **(TYPICAL["fx"] | {
        "instrument": "USD_JPY", "limit_price": Decimal("150.000"), "stop_loss": Decimal("149.000"),
        "take_profit": Decimal("152.000")}))
    cross = make_signal(published_at=T0 + timedelta(minutes=5), **(TYPICAL["fx"] | {
        "instrument": "EUR_JPY", "limit_price": Decimal("162.500"), "stop_loss": Decimal("161.000"),
        "take_profit": Decimal("165.000")}))
    items = [_item(st, "0.52", "win"), _item(stock, "185.00", "win", exit_price="195.00"),
             _item(dear, "627.59", "loss", exit_price="620.00"), _item(lt, "0.83", "win"),
             _item(usd_jpy, "150.000", "win", exit_price="152.000"),
             _item(cross, "162.500", "win", exit_price="165.000")]
    result = simulate(config, items, key)
    assert result.rows["kalshi_st"].traded == 1
    assert result.rows["stocks"].traded == 1 and dict(result.rows["stocks"].skipped) == {"unit_over_signal_cap": 1}
    assert result.rows["fx"].traded == 2, "the cross is priced with the USD_JPY signal's rate"
    assert result.rows["fx"].pnl_cents > 0
    assert dict(result.skipped) == {"unit_over_signal_cap": 1, "not_followed": 1}
    table = render_table(result, 30)
    assert "not traded, by reason:" in table and "unit_over_signal_cap" in table and "not_followed" in table
    assert result.as_json()["skipped"] == {"unit_over_signal_cap": 1, "not_followed": 1}


def _tick_labels(result: Any) -> list[str]:
    figure = equity_figure(result, 30)
    figure.canvas.draw()
    axes = figure.axes[0]
    labels = [label.get_text() for label in axes.get_xticklabels()] + [axes.xaxis.get_offset_text().get_text()]
    import matplotlib.pyplot as plt

    plt.close(figure)
    return labels


@pytest.mark.parametrize(("span", "expect_clock"), [(timedelta(minutes=3), True), (timedelta(days=20), False)])
def test_the_chart_axis_suits_the_span(make_config, make_signal, operator_key, span: timedelta,
                                       expect_clock: bool) -> None:
    key = load_public_key(public_key_pem(operator_key))
    config = make_config(sizing={"fixed_cents": 1_000})
    steps = 6
    items = []
    for n in range(steps):
        signal = make_signal(published_at=T0 + span * n / steps)
        items.append(_item(signal, "0.40", "win" if n % 2 else "loss", minutes=1))
    result = simulate(config, items, key)
    labels = [text for text in _tick_labels(result) if text]
    assert labels, "the axis has tick labels"
    has_clock = any(":" in text for text in labels[:-1])
    assert has_clock is expect_clock, labels
    title = equity_figure(result, 30).axes[0].get_title()
    assert ("min" in title) if expect_clock else ("days" in title)
