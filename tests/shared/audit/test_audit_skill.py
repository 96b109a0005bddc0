"""Skill against the market and realized vs claimed edge, worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.audit.provenance import result_kind, result_label, signal_kind
from shared.audit.skill import payoff_range_cents, points, quote_to_account, score, skill_by_surface
from shared.audit.stats import mean_interval
from shared.records import Signal, Trade

T = datetime(2026, 11, 1, tzinfo=UTC)


def signal(sid: str, *, p_model: float, p_market: float, side: str = "yes", surface: str = "kalshi_st",
           sub: str = "weather", venue: str = "kalshi", **extra: object) -> Signal:
    return Signal(id=sid, published_at=T, expires_at=T, surface=surface, sub_strategy=sub, venue=venue,
                  instrument=str(extra.pop("instrument", "M")), side=side, limit_price=Decimal("0.5"),
                  size_fraction=Decimal("0.01"), p_model=p_model, p_market=p_market, edge=0.0, confidence=0.5,
                  **extra)


def trade(sid: str, *, pnl: int, fees: int = 0, side: str = "yes", surface: str = "kalshi_st",
          venue: str = "kalshi", mode: str = "paper", source: str = "kalshi_resolution", **extra: object) -> Trade:
    return Trade(id=f"T{sid}", signal_id=sid, client_order_id=f"C{sid}", status="resolved", mode=mode,
                 surface=surface, venue=venue, instrument=str(extra.pop("instrument", "M")), side=side, fees=fees,
                 pnl=pnl, resolution_source=source, **extra)


def test_result_kind_from_venue_mode_and_source() -> None:
    assert result_kind(trade("a", pnl=1, venue="sim", source="sim")) == "sim"
    assert result_kind(trade("a", pnl=1)) == "real_data_paper"
    assert result_kind(trade("a", pnl=1, mode="live")) == "live"
    # A record that contradicts itself is never promoted to real.
    assert result_kind(trade("a", pnl=1, venue="kalshi", source="sim", mode="live")) == "sim"
    assert result_kind({"venue": "oanda", "mode": "live", "resolution_source": "oanda_candles"}) == "live"
    assert result_kind({"mode": "paper"}) == "sim"
    assert [result_label(k) for k in ("sim", "real_data_paper", "live")] == \
        ["synthetic (sim)", "real-data paper", "live"]
    assert signal_kind(signal("a", p_model=0.5, p_market=0.5, venue="sim")) == "sim"
    assert signal_kind({"venue": "kalshi", "dry_run": True}) == "real_data_paper"
    assert signal_kind({"venue": "kalshi", "dry_run": False}) == "live"


def test_binary_realized_edge_is_outcome_minus_price_minus_fee() -> None:
    # Two contracts of NO bought at 40¢ with 3¢ fees in all; won: pnl = 200 − 80 − 3 = 117 cents.
    s = signal("a", p_model=0.7, p_market=0.4, side="no")
    t = trade("a", pnl=117, fees=3, side="no", count=200, fill_price=Decimal("0.40"), cost_cents=80)
    assert payoff_range_cents(t, s) == 200
    scored = score(t, s)
    assert scored.won and scored.kind == "real_data_paper"
    assert scored.realized == pytest.approx(1 - 0.40 - 0.015)
    assert scored.claimed == pytest.approx(0.7 - 0.4 - 0.015)


def test_bracket_range_in_account_money_for_usd_based_and_cross_pairs() -> None:
    # USD_JPY short, 10,000 units, entry 150.00, stop 150.30, target 149.60: range 0.70 JPY × 10,000 = 7,000 JPY.
    s = signal("a", p_model=0.5, p_market=0.3 / 0.7, side="short", surface="fx", venue="oanda",
               instrument="USD_JPY", stop_loss=Decimal("150.30"), take_profit=Decimal("149.60"))
    t = trade("a", pnl=2667, side="short", surface="fx", venue="oanda", source="oanda_candles",
              instrument="USD_JPY", units=10_000, fill_price=Decimal("150.00"), exit_price=Decimal("149.60"))
    assert quote_to_account(t) == Decimal(1) / Decimal("149.60")
    assert payoff_range_cents(t, s) == pytest.approx(Decimal(7000) / Decimal("149.60") * 100)
    # A cross (EUR_GBP) is valued at the rate the resolver used: read off the trade's own P&L, which is the converted
    # fill-to-fill move (the 10c of fees are the spread, already inside the fills; FX commissions are 0).
    cross = trade("b", pnl=1270, fees=10, side="long", surface="fx", venue="oanda", source="oanda_candles",
                  instrument="EUR_GBP", units=10_000, fill_price=Decimal("0.8500"), exit_price=Decimal("0.8510"))
    assert quote_to_account(cross) == Decimal("1.27")
    # A stock is quoted in dollars; a bracket without its levels has no known range.
    stock = trade("c", pnl=100, side="long", surface="stocks", venue="ibkr", source="ibkr_position",
                  instrument="AAPL", units=10, fill_price=Decimal("200"))
    assert quote_to_account(stock) == 1
    bare = signal("c", p_model=0.5, p_market=0.5, side="long", surface="stocks", venue="ibkr")
    assert payoff_range_cents(stock, bare) is None and score(stock, bare).realized is None


def test_skill_rows_per_kind_surface_and_sub_strategy() -> None:
    # Real: four trades at 50¢, the model said 0.8 and three won. Brier model (3 × 0.04 + 0.64) / 4 = 0.19,
    # market 0.25: skill 1 − 0.19 / 0.25 = 0.24. Sim rows stay apart.
    signals = {f"r{i}": signal(f"r{i}", p_model=0.8, p_market=0.5) for i in range(4)}
    trades = [trade(f"r{i}", pnl=48 if i < 3 else -52, fees=2, count=100, fill_price=Decimal("0.5"))
              for i in range(4)]
    signals["s0"] = signal("s0", p_model=0.9, p_market=0.5, venue="sim", sub="btc")
    trades.append(trade("s0", pnl=48, fees=2, count=100, venue="sim", source="sim"))
    rows = {(r.kind, r.surface, r.sub_strategy): r for r in skill_by_surface(trades, signals)}
    assert set(rows) == {("real_data_paper", "kalshi_st", "*"), ("real_data_paper", "kalshi_st", "weather"),
                         ("sim", "kalshi_st", "*"), ("sim", "kalshi_st", "btc")}
    real = rows[("real_data_paper", "kalshi_st", "*")]
    assert (real.n, real.win_rate, real.label) == (4, 0.75, "real-data paper")
    assert real.brier_model == pytest.approx(0.19) and real.brier_market == pytest.approx(0.25)
    assert real.skill == pytest.approx(0.24)
    assert real.realized_edge == pytest.approx((3 * 0.48 - 0.52) / 4)
    assert real.claimed_edge == pytest.approx(0.8 - 0.5 - 0.02)
    assert real.skill_low is not None and real.skill_high is not None and real.skill is not None
    assert real.skill_low < real.skill < real.skill_high
    assert rows[("sim", "kalshi_st", "*")].to_json()["label"] == "synthetic (sim)"


def test_mean_interval_and_points() -> None:
    interval = mean_interval([1.0, 2.0, 3.0, 4.0])
    assert interval is not None and interval.mean == 2.5
    # s = sqrt(5/3); half-width 1.96 · s / 2.
    assert interval.half_width == pytest.approx(1.96 * (5 / 3) ** 0.5 / 2)
    single = mean_interval([0.3])
    assert single is not None and single.low is None
    assert mean_interval([]) is None
    assert points(0.043) == "+4.3¢" and points(-0.0154) == "-1.5¢" and points(None) == "-"
