"""The reconciliation line: the trade log's P&L beside the venue's cash movement, and ``tbot audit pnl`` printing it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from shared.audit.reconcile import entry_cash_cents, fold, reconcile, reconcile_log_dir
from shared.bus import JsonlLog
from shared.cli import main
from shared.clock import SteppedClock
from shared.execution import read_trades
from shared.paths import open_stream, stream_path
from shared.records import Trade
from shared.venues.base import OrderRequest
from shared.venues.sim import build_sim_venue
from surfaces.resolver.service import Resolver, SurfaceBook

START = datetime(2025, 4, 14, 13, 30, tzinfo=UTC)  # a Monday session open (09:30 New York)


def trade(**kw: object) -> Trade:
    base: dict[str, object] = dict(id="t1", signal_id="S", client_order_id="c1", status="filled", surface="stocks",
                                   venue="sim", instrument="AAPL", side="long", units=10, fill_price=D("200.01"),
                                   fees=100, opened_at=START)
    base.update(kw)
    return Trade(**base)  # type: ignore[arg-type]


def test_the_cash_an_open_trade_moved_at_entry_follows_the_venues_rules() -> None:
    assert entry_cash_cents(trade(), "equity") == -200_010 - 100  # paid the notional and the commission
    assert entry_cash_cents(trade(side="short"), "equity") == 200_010 - 100  # a short sale is paid its proceeds
    fx = trade(surface="fx", instrument="EUR_USD", units=10_000, fill_price=D("1.10007"), fees=0)
    assert entry_cash_cents(fx, "fx") == 0  # margin: P&L moves cash only at the exit
    binary = trade(surface="kalshi_st", instrument="KX-1", side="yes", units=None, count=300, fill_price=D("0.41"),
                   cost_cents=123, fees=5)
    assert entry_cash_cents(binary, "binary") == -128


class StockDesk:
    """A stocks sim venue under ``log_dir`` with a trade log the way the lifecycle writes it, and the resolver."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.clock = SteppedClock(START + timedelta(minutes=10))
        self.venue = build_sim_venue("stocks", self.clock, log_dir, 7, 1_000_000)
        self.log = open_stream(log_dir, "stocks", "trades")
        self.resolver = Resolver([SurfaceBook("stocks", self.venue, self.log, self.log.reader())])

    def open(self, n: int, symbol: str, side: str, stop: str, target: str) -> None:
        result = self.venue.place_order(OrderRequest(f"c{n}", symbol, side, "open", 10, None, "ioc",  # type: ignore[arg-type]
                                                     D(stop), D(target)))
        assert result.status == "filled"
        self.log.append(trade(id=f"t{n}", client_order_id=f"c{n}", instrument=symbol, side=side,
                              fill_price=result.avg_fill_price, fees=result.fees_cents, opened_at=result.at,
                              venue_order_id=result.venue_order_id, stop_loss=D(stop), take_profit=D(target)))

    def line(self) -> tuple[int | None, int, int]:
        portfolio = fold(read_trades(JsonlLog(stream_path(self.log_dir, "stocks", "trades"))), "stocks")
        found = reconcile("stocks", portfolio, self.venue, 1_000_000)
        return found.difference_cents, found.pending, found.open_trades


def test_a_venue_exit_not_yet_booked_is_pending_and_the_line_closes_once_it_is(log_dir: Path) -> None:
    desk = StockDesk(log_dir)
    quote = desk.venue.quote("AAPL")
    assert quote.bid is not None
    # A tight bracket that the real bars reach within the day, and a wide one that stays open.
    desk.open(1, "AAPL", "long", str(quote.bid - D("0.30")), str(quote.bid + D("0.30")))
    desk.open(2, "AAPL", "short", str(quote.bid + D("40")), str(quote.bid - D("40")))
    assert desk.line() == (0, 0, 2)  # both open: the venue's cash moved exactly what the two entries paid
    desk.clock.set(START + timedelta(hours=6))
    difference, pending, _ = desk.line()
    assert pending == 1 and difference != 0  # the venue closed one; the resolver has not booked it yet
    assert len(desk.resolver.tick()) == 1
    assert desk.line() == (0, 0, 1)


def test_from_a_log_dir_without_a_fleet_the_sim_venue_is_rebuilt_at_the_ledgers_cut_off(log_dir: Path) -> None:
    desk = StockDesk(log_dir)
    quote = desk.venue.quote("AAPL")
    assert quote.bid is not None
    desk.open(1, "AAPL", "long", str(quote.bid - D("0.30")), str(quote.bid + D("0.30")))
    desk.clock.set(START + timedelta(hours=6))
    desk.resolver.tick()
    [line] = reconcile_log_dir(log_dir, ["stocks", "fx"], env_dir=log_dir / "envs")  # fx: no trade log, no line
    assert (line.surface, line.venue, line.difference_cents, line.pending) == ("stocks", "sim", 0, 0)
    assert line.ledger_pnl_cents != 0 and line.venue_cash_cents == line.ledger_pnl_cents
    assert "sim seed 7" in line.note


def test_a_live_venue_says_not_available_and_a_bad_seed_names_the_key(log_dir: Path) -> None:
    open_stream(log_dir, "fx", "trades").append(trade(surface="fx", instrument="EUR_USD", fees=0))
    envs = log_dir / "envs"
    envs.mkdir()
    (envs / "fx.env").write_text("VENUE=oanda\nTRADING_MODE=live\n")
    [line] = reconcile_log_dir(log_dir, ["fx"], env_dir=envs)
    assert line.venue_cash_cents is None and line.difference_cents is None and "not available" in line.note
    (envs / "fx.env").write_text("SIM_SEED=seven\n")
    with pytest.raises(ValueError, match="SIM_SEED"):
        reconcile_log_dir(log_dir, ["fx"], env_dir=envs)


def test_tbot_audit_pnl_prints_the_line(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    desk = StockDesk(log_dir)
    quote = desk.venue.quote("AAPL")
    assert quote.bid is not None
    desk.open(1, "AAPL", "long", str(quote.bid - D("0.30")), str(quote.bid + D("0.30")))
    desk.clock.set(START + timedelta(hours=6))
    [resolved] = desk.resolver.tick()
    args = ["audit", "pnl", "--since", "2025-04-01", "--log-dir", str(log_dir), "--env-dir", str(log_dir / "envs")]
    assert main(args) == 0
    out = capsys.readouterr().out
    [row] = [line.split() for line in out.splitlines() if line.startswith("stocks ")]
    assert row[1] == "sim" and row[-2:] == ["$0.00", "0"]  # difference and pending
    assert main([*args, "--json"]) == 0
    [data] = json.loads(capsys.readouterr().out)["pnl"]["reconciliation"]
    assert (data["ledger_pnl_cents"], data["venue_cash_cents"], data["difference_cents"]) == (
        resolved.pnl, resolved.pnl, 0)
    (log_dir / "envs").mkdir()
    (log_dir / "envs" / "stk.env").write_text("SIM_SEED=x\n")
    assert main(args) == 2
    assert "SIM_SEED" in capsys.readouterr().err
