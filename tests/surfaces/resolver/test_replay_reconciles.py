"""Over a month of replayed venue days, every surface's trade log equals its sim venue's cash, to the cent.

The fleet runs on stepped clocks (surfaces/replay.py): FX and stocks for 1,500 ticks of 30 sim minutes (31 venue
days, seed 7), Kalshi short-term for 600 ticks of 5 minutes (two days of weather and BTC markets), Kalshi long-term
for 400 ticks of 2 hours (33 days; on the explicit offline slope the fleet test uses, since the keyless baseline is
the market itself and never trades).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.audit.reconcile import fold, reconcile, reconcile_log_dir
from shared.bus import JsonlLog
from shared.execution import read_trades
from shared.money.portfolio import Portfolio
from shared.paths import stream_path
from surfaces.replay import FleetReplay

RUNS = {("fx", "stocks"): 1500, ("kalshi_st",): 600, ("kalshi_lt",): 400}
OVERRIDES = {"kalshi_lt": {"llm_offline_slope": 3.0, "llm_offline_confidence": 0.6}}


@pytest.fixture(scope="module")
def fleets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FleetReplay]]:
    out: dict[str, FleetReplay] = {}
    replays = []
    for surfaces, ticks in RUNS.items():
        log_dir = tmp_path_factory.mktemp("replay") / "logs"
        replay = FleetReplay(log_dir, surfaces=surfaces,
                             overrides={s: OVERRIDES.get(s, {}) for s in surfaces})
        replay.run(ticks)
        replays.append(replay)
        out.update({s: replay for s in surfaces})
    yield out
    for replay in replays:
        replay.close()


def portfolio_of(replay: FleetReplay, surface: str) -> Portfolio:
    return fold(read_trades(JsonlLog(stream_path(replay.log_dir, surface, "trades"))), surface)


@pytest.mark.parametrize("surface", ["fx", "stocks", "kalshi_st", "kalshi_lt"])
def test_the_trade_log_equals_the_venues_cash_to_the_cent(fleets: dict[str, FleetReplay], surface: str) -> None:
    replay = fleets[surface]
    member = replay.members[surface]
    portfolio = portfolio_of(replay, surface)
    line = reconcile(surface, portfolio, member.venue, member.settings.bankroll_cents)
    assert portfolio.resolved >= 15, f"{surface}: too few resolved trades to show anything"
    assert line.pending == 0
    assert line.difference_cents == 0, line
    # The same line, rebuilt from the log directory alone (no running venue): the audit's view.
    [offline] = reconcile_log_dir(replay.log_dir, [surface], env_dir=replay.log_dir / "no-envs")
    assert (offline.ledger_pnl_cents, offline.difference_cents) == (line.ledger_pnl_cents, 0)


@pytest.mark.parametrize("surface", ["fx", "stocks"])
def test_every_bracket_exit_is_a_venue_fill_and_fx_fees_show_the_spread(fleets: dict[str, FleetReplay],
                                                                        surface: str) -> None:
    replay = fleets[surface]
    venue = replay.members[surface].venue
    fills = venue.fills()
    exits = {f.position_id: f for f in fills if f.intent == "close"}
    entries = {f.venue_order_id: f for f in fills if f.intent == "open"}
    resolved = [t for t in portfolio_of(replay, surface).trades() if t.status == "resolved"]
    for trade in resolved:
        exit_fill, entry = exits[trade.venue_order_id], entries[trade.venue_order_id]
        assert (trade.exit_price, trade.resolved_at) == (exit_fill.price, exit_fill.at)
        commissions = entry.fees_cents + exit_fill.fees_cents
        assert trade.fees == commissions + entry.spread_cost_cents + exit_fill.spread_cost_cents
        if surface == "fx":
            assert commissions == 0 and trade.fees > 0  # OANDA-like: the whole cost is the spread, now visible
        else:
            assert trade.fees == commissions  # IBKR reports commissions only
    reasons = {t.reason for t in resolved}
    assert {"stop_loss", "take_profit"} <= reasons
