"""The one portfolio fold: venue days, filters, state order, corrections, per-class totals and breaker events."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.money.portfolio import Portfolio, venue_day
from shared.records import BreakerEvent, Trade

from .trades import trade

T0 = datetime(2025, 3, 3, 23, 30, tzinfo=UTC)  # 18:30 in New York: still 3 March there, 4 March is UTC + 30 min


def resolved(sig: str, pnl: int, at: datetime = T0, **kw: object) -> Trade:
    return trade(sig, "resolved", opened_at=at, resolved_at=at, pnl=pnl, fees=5, resolution_source="sim", **kw)


def test_a_result_counts_on_its_venue_day_in_the_day_zone() -> None:
    utc, ny = Portfolio("kalshi_st"), Portfolio("kalshi_st", day_boundary_tz="America/New_York")
    late = T0.replace(hour=23, minute=59)
    for p in (utc, ny):
        p.apply(resolved("A", 100, late))
    assert utc.realized_on(date(2025, 3, 3)) == 100 and ny.realized_on(date(2025, 3, 3)) == 100
    next_utc_day = datetime(2025, 3, 4, 2, 0, tzinfo=UTC)  # 4 March in UTC, still 3 March in New York
    for p in (utc, ny):
        p.apply(resolved("B", -40, next_utc_day))
    assert utc.daily_pnl() == {date(2025, 3, 3): 100, date(2025, 3, 4): -40}
    assert ny.daily_pnl() == {date(2025, 3, 3): 60}
    assert venue_day(resolved("C", 1, next_utc_day), "America/New_York") == date(2025, 3, 3)


def test_other_surfaces_and_modes_are_not_folded() -> None:
    p = Portfolio("kalshi_st", "paper")
    assert not p.apply(resolved("A", 100, mode="live"))
    assert not p.apply(resolved("B", 100, surface="fx"))
    assert p.realized_cents == 0 and p.ignored == 2
    anything = Portfolio(None, None, bankroll_cents=0)
    assert anything.apply(resolved("A", 100, mode="live")) and anything.apply(resolved("B", 5, surface="fx"))
    assert anything.realized_cents == 105


def test_a_state_never_moves_a_trade_backwards_and_a_correction_replaces() -> None:
    p = Portfolio("kalshi_st")
    p.apply(trade("A", "intent"))
    p.apply(trade("A", "filled", opened_at=T0))
    assert p.open_positions == 1 and p.committed_cents == 400
    assert not p.apply(trade("A", "placed"))  # a late placed line after the fill
    p.apply(resolved("A", 120))
    p.apply(resolved("A", 90))  # the same resolution written again with another pnl: it replaces, not adds
    assert (p.realized_cents, p.resolved, p.wins, p.open_positions) == (90, 1, 1, 0)
    assert p.realized_on(T0.date()) == 90 and [v for _, v in p.equity_curve()] == [90]
    assert (p.placed, p.filled) == (1, 1)


def test_rebuild_in_another_order_gives_the_same_state() -> None:
    states = [trade("A", "filled", opened_at=T0), resolved("B", -30), resolved("A", 70),
              resolved("C", 25, datetime(2025, 3, 1, tzinfo=UTC))]
    forward, backward = Portfolio("kalshi_st"), Portfolio("kalshi_st")
    for s in states:
        forward.apply(s)
    for s in reversed(states):
        backward.apply(s)
    assert forward.state() == backward.state()
    # In resolution-time order: C +25 (1 March), then A +70 and B −30 (same instant, by id): the peak is after A.
    assert forward.peak_equity_cents == 1_000_000 + 25 + 70 and forward.equity_cents == 1_000_000 + 65


def test_resolved_totals_per_class_follow_corrections() -> None:
    p = Portfolio("kalshi_st", None, classify=lambda t: t.mode)
    p.apply(resolved("A", 100))
    p.apply(resolved("B", -20, mode="live"))
    p.apply(resolved("A", -10))  # corrected: the paper class loses its win
    assert {k: (c.resolved, c.wins, c.realized_cents, c.fees_cents) for k, c in p.by_class.items()} == {
        "paper": (1, 0, -10, 5), "live": (1, 0, -20, 5)}


def test_breaker_events_of_the_surface_are_folded() -> None:
    p = Portfolio("fx")
    trip = BreakerEvent(surface="fx", breaker="daily_loss", action="trip", at=T0, reason="limit")
    other = BreakerEvent(surface="stocks", breaker="drawdown", action="trip", at=T0)
    assert p.apply_event(trip) and not p.apply_event(other)
    assert p.tripped_names == {"daily_loss"}
    p.apply_event(BreakerEvent(surface="fx", breaker="daily_loss", action="reset", at=T0))
    assert p.tripped_names == frozenset()
