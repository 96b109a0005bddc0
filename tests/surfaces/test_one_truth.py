"""One truth: over a month of venue days of the replayed paper fleet, every consumer of a trade log gives the same
numbers, because they all read it through the one portfolio fold: the loop's ledger, a fresh rebuild, the dashboard,
the audit, and the venue's own cash."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.operator_state import SurfaceView
from shared.audit.reconcile import reconcile
from shared.audit.report import ReportOptions, build_report
from shared.audit.window import Window
from shared.bus import JsonlLog
from shared.money.ledger import Ledger
from shared.paths import stream_path
from shared.risk.overrides import OverrideSet
from surfaces import replay as fleet_replay
from surfaces.replay import FleetReplay

# Coarser steps than the integration test's so that a month of venue time fits in a few thousand ticks; the FX and
# stock bars are hourly, so an hourly step still sees every bar.
STEPS = {
    "kalshi_st": timedelta(minutes=20),
    "kalshi_lt": timedelta(hours=3),
    "fx": timedelta(hours=1),
    "stocks": timedelta(hours=1),
}
VENUE_DAYS = 30
TICKS = int(timedelta(days=VENUE_DAYS) / STEPS["kalshi_st"])
SURFACES = ("kalshi_st", "kalshi_lt", "fx", "stocks")


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetReplay]:
    saved = dict(fleet_replay.STEPS)
    fleet_replay.STEPS.update(STEPS)
    try:
        # Without an LLM key the long-term surface's only model is the market itself and it never trades; a
        # steeper offline model makes it trade so its log has something to agree about (machinery, not skill).
        replay = FleetReplay(tmp_path_factory.mktemp("month") / "logs",
                             overrides={"kalshi_lt": {"llm_offline_slope": 3.0, "llm_offline_confidence": 0.6}})
        starts = {name: replay.now(name) for name in SURFACES}
        replay.run(TICKS)
        for name in ("kalshi_st", "fx", "stocks"):
            assert replay.now(name) - starts[name] >= timedelta(days=VENUE_DAYS)
        yield replay
        replay.close()
    finally:
        fleet_replay.STEPS.clear()
        fleet_replay.STEPS.update(saved)


def _ledger(replay: FleetReplay, surface: str) -> Ledger:
    settings = replay.members[surface].settings
    return Ledger.rebuild(replay.log_dir, surface, "paper", bankroll_cents=settings.bankroll_cents,
                          day_boundary_tz=settings.day_boundary_tz)


def _dashboard_view(replay: FleetReplay, surface: str) -> SurfaceView:
    settings = replay.members[surface].settings
    view = SurfaceView(surface, OverrideSet(settings), mode="paper")
    entries = list(JsonlLog(stream_path(replay.log_dir, surface, "trades")).reader().read())
    view.apply_trades(entries)
    return view


@pytest.mark.slow
@pytest.mark.parametrize("surface", SURFACES)
def test_every_consumer_agrees_to_the_cent(month: FleetReplay, surface: str) -> None:
    live = month.members[surface].loop.decider.ledger
    live.sync()
    rebuilt = _ledger(month, surface)
    view = _dashboard_view(month, surface)
    assert rebuilt.resolved > 0, f"{surface} resolved nothing in a month"
    assert live.state() == rebuilt.state()
    assert view.portfolio.state() == rebuilt.state()
    assert (view.realized_cents, view.fees_cents, view.resolved, view.wins) == (
        rebuilt.realized_cents, rebuilt.fees_realized_cents, rebuilt.resolved, rebuilt.wins)
    # The breakers' day and the panel's day are the same venue day.
    now = month.now(surface)
    assert view.portfolio.realized_today(now) == live.realized_today(now)

    today = datetime.now(UTC).date()
    report = build_report(ReportOptions(log_dir=month.log_dir, window=Window.from_days(today - timedelta(days=1),
                                                                                        today + timedelta(days=1))))
    rows = [r for r in report.pnl.surfaces if r.surface == surface]
    assert sum(r.net_cents for r in rows) == rebuilt.realized_cents
    assert sum(r.fees_cents for r in rows) == rebuilt.fees_realized_cents
    assert sum(r.trades for r in rows) == rebuilt.resolved
    # P&L from fills: the trade log is what the sim venue's cash did, to the cent.
    line = reconcile(surface, rebuilt, month.members[surface].venue, month.members[surface].settings.bankroll_cents)
    assert (line.pending, line.difference_cents) == (0, 0), line
    # One row per venue day: the replay's days, not the one day the records were written on.
    assert sum(r.days for r in rows) >= min(VENUE_DAYS // 2, len(rebuilt.daily_pnl()))
