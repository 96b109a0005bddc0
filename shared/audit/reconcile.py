"""The reconciliation line: per surface, the ledger's P&L beside the venue's cash movement, and the difference.

- Ledger side, from the surface's trade log through the portfolio fold: the realized P&L (sum of resolved trades'
  ``pnl``), plus the cash the trades still open moved when they filled, so that open positions do not show up as a
  difference: a stock long paid its notional and commission (a short received its notional), an FX position on
  margin paid only its commission, a binary its cost and fees.
- Venue side: what the venue says its cash did since the account began. A sim venue rebuilds its account from
  ``logs/sim/<surface>/orders.jsonl`` and the replayed data, so this works from a log directory with no fleet
  running: the venue is built on the fleet's epoch when one exists (what every process sees now), else at the
  ledger's cut-off, the venue time of the latest trade record. A live venue: "not available" (the adapters give
  today's balance, not its history since the log began).

``difference = venue cash movement − (ledger P&L + open entry cash)``: 0 on a sim, to the cent. ``pending`` counts
the positions the venue has already closed or settled but the resolver has not booked yet; while it is not 0 a
difference is the resolver's lag, not an error of either side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

from shared.audit.render import money, table
from shared.bus import JsonlLog
from shared.clock import Clock, SteppedClock
from shared.config import parse_env_file
from shared.execution import read_trades
from shared.money.portfolio import Portfolio, cost_cents
from shared.paths import stream_path
from shared.records import Trade
from shared.surfaces import InstrumentKind, surface_spec
from shared.venues.base import Position, Venue
from shared.venues.sim import build_sim_venue
from shared.venues.sim.ledger import sim_dir
from shared.venues.sim.replay import epoch_path, existing_replay_clock

NOT_AVAILABLE = "not available"
DEFAULT_SIM_SEED = 7  # SurfaceSettings.sim_seed's default, for a log directory without its env files


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """One surface's line. Money in integer cents; the venue's figures are None where the venue cannot say."""

    surface: str
    venue: str
    ledger_pnl_cents: int
    open_cash_cents: int
    open_trades: int
    venue_cash_cents: int | None
    difference_cents: int | None
    pending: int = 0
    note: str = ""


def line(surface: str, venue: str, ledger_pnl_cents: int, open_cash_cents: int, open_trades: int,
         venue_cash_cents: int | None, pending: int = 0, note: str = "") -> Reconciliation:
    """A line with its difference worked out (None when the venue's cash movement is not available)."""
    difference = None if venue_cash_cents is None else venue_cash_cents - (ledger_pnl_cents + open_cash_cents)
    return Reconciliation(surface, venue, ledger_pnl_cents, open_cash_cents, open_trades, venue_cash_cents,
                          difference, pending, note)


def entry_cash_cents(trade: Trade, kind: InstrumentKind) -> int:
    """The cash a filled, still-open trade moved at its entry (negative: paid), by the venue's own rules."""
    if kind == "fx":
        return -trade.fees  # on margin: only the commission is paid; P&L moves cash at the exit
    if kind == "binary":
        return -cost_cents(trade) - trade.fees
    price = trade.fill_price if trade.fill_price is not None else trade.limit_price
    notional = Decimal(trade.units or 0) * (price or Decimal(0)) * 100
    if trade.side == "short":  # a short sale is paid its proceeds
        return int(notional.to_integral_value(ROUND_FLOOR)) - trade.fees
    return -int(notional.to_integral_value(ROUND_CEILING)) - trade.fees


def fold(trades: Iterable[Trade], surface: str) -> Portfolio:
    """The surface's trade log through the one portfolio fold (every mode: a sim account holds paper trades)."""
    portfolio = Portfolio(surface, None, bankroll_cents=0)
    for trade in trades:
        portfolio.apply(trade)
    return portfolio


def cut_off(portfolio: Portfolio) -> datetime | None:
    """The venue time the ledger is complete to: its latest entry or resolution."""
    times = [t for trade in portfolio.trades() for t in (trade.opened_at, trade.resolved_at) if t is not None]
    return max(times) if times else None


def _held(trade: Trade, positions: Sequence[Position]) -> bool:
    for p in positions:
        if p.symbol != trade.instrument:
            continue
        if p.client_order_id == trade.client_order_id or (
                p.venue_position_id is not None and p.venue_position_id == trade.venue_order_id):
            return True
        if p.client_order_id is None and p.venue_position_id is None and p.side == trade.side:
            return True  # binary holdings are per market and side, not per order
    return False


def reconcile(surface: str, portfolio: Portfolio, venue: Venue | None, starting_cash_cents: int = 0,
              note: str = "") -> Reconciliation:
    """Compare one surface's fold with its venue (None: the venue's cash history is not available)."""
    kind = surface_spec(surface).instrument_kind
    still_open = portfolio.open_trades(("filled",))
    open_cash = sum(entry_cash_cents(t, kind) for t in still_open)
    if venue is None:
        return line(surface, "live", portfolio.realized_cents, open_cash, len(still_open), None,
                    note=note or NOT_AVAILABLE)
    positions = venue.positions()
    pending = sum(1 for t in still_open if not _held(t, positions))
    moved = venue.balance().cash_cents - starting_cash_cents
    return line(surface, venue.name, portfolio.realized_cents, open_cash, len(still_open), moved, pending, note)


def surface_venue_settings(env_dir: Path, surface: str) -> tuple[str, int]:
    """(VENUE, SIM_SEED) from the surface's env file under ``env_dir``; the defaults when there is none.

    Raises ValueError naming SIM_SEED when it is not an integer.
    """
    path = env_dir / surface_spec(surface).env_file
    values = parse_env_file(path) if path.is_file() else {}
    venue = values.get("VENUE", "sim").strip() or "sim"
    raw = values.get("SIM_SEED", str(DEFAULT_SIM_SEED)).strip()
    try:
        seed = int(raw)
    except ValueError:
        raise ValueError(f"{path}: SIM_SEED must be an integer") from None
    return venue, seed


def sim_clock_for(log_dir: Path, surface: str, portfolio: Portfolio, speed: float) -> Clock | None:
    """The running fleet's replay clock if it has an epoch here, else a clock stopped at the ledger's cut-off."""
    if epoch_path(log_dir).exists():
        return existing_replay_clock(surface, log_dir, speed)
    at = cut_off(portfolio)
    return None if at is None else SteppedClock(at)


def reconcile_log_dir(log_dir: Path, surfaces: Iterable[str], env_dir: Path = Path("envs"),
                      sim_speed: float = 600.0) -> list[Reconciliation]:
    """One line per surface that has a trade log under ``log_dir``."""
    out = []
    for surface in surfaces:
        path = stream_path(log_dir, surface, "trades")
        if not path.exists():
            continue
        portfolio = fold(read_trades(JsonlLog(path)), surface)
        venue_name, seed = surface_venue_settings(env_dir, surface)
        if venue_name != "sim":
            out.append(reconcile(surface, portfolio, None, note=f"{venue_name}: balance history {NOT_AVAILABLE}"))
            continue
        if not (sim_dir(log_dir, surface) / "orders.jsonl").exists():
            out.append(line(surface, "sim", portfolio.realized_cents, 0, 0, 0,
                            note="no sim orders: the venue's cash never moved"))
            continue
        clock = sim_clock_for(log_dir, surface, portfolio, sim_speed)
        if clock is None:
            out.append(line(surface, "sim", 0, 0, 0, 0, note="no trade has filled yet"))
            continue
        # Starting cash 0: the account's cash is then its movement (no figure here depends on the bankroll).
        venue = build_sim_venue(surface, clock, log_dir, seed, 0)
        out.append(reconcile(surface, portfolio, venue, 0, note=f"sim seed {seed} at {clock.now().isoformat()}"))
    return out


HEADERS = ("surface", "venue", "ledger P&L", "open entry cash", "venue cash moved", "difference", "pending")


def render_reconciliation(lines: Sequence[Reconciliation]) -> str:
    """The text table ``tbot audit pnl`` prints under its P&L tables."""

    def cash(value: int | None) -> str:
        return NOT_AVAILABLE if value is None else money(value)

    rows = [[r.surface, r.venue, money(r.ledger_pnl_cents), money(r.open_cash_cents), cash(r.venue_cash_cents),
             cash(r.difference_cents), str(r.pending)] for r in lines]
    notes = [f"  {r.surface}: {r.note}" for r in lines if r.note]
    return "\n".join([
        "reconciliation (whole trade log, not the window): ledger P&L + cash the open trades moved at entry = "
        "the venue's cash movement; difference must be 0 on a sim (pending: exits the resolver has not booked yet)",
        table(list(HEADERS), rows, 2) if rows else "  (no trade log)", *notes, ""])
