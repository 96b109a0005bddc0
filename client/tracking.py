"""Tracking error: the subscriber's result beside the operator's, signal by signal.

The commonest complaint about copy trading is "my results differ from the provider's". This says why, per signal
in the operator's resolved history (``GET /api/signals/history``):
- traded: the subscriber's fill against the operator's (slippage, in price and in cents on the subscriber's
  quantity), the subscriber's fees, and what the same quantity would have made at the operator's own prices
  (``at_operator_prices_cents``): the subscriber's P&L = that − slippage − fees, to the cent where both closed at
  the operator's exit;
- skipped: the reason code (``client.sizing.SKIP_REASONS``), and the operator's outcome on it;
- missed: never seen by the client (it was not running; see ``service status``);
- open: traded, not yet resolved for the subscriber.
The operator's own quantity is not published, so the operator's P&L in cents is shown as reported, not rescaled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pydantic import ValidationError

from client.pricing import UnsupportedInstrument, binary_payout_pnl, bracket_pnl, is_buy, kind_of
from client.replay import result_kind_of
from client.store import StatePaths
from shared.records import Signal, Trade, parse_record


@dataclass(slots=True)
class TrackRow:
    signal_id: str
    surface: str
    instrument: str
    side: str
    published_at: str
    operator_outcome: str
    operator_fill: str | None
    operator_pnl_cents: int
    operator_kind: str  # where the operator's result comes from: sim (synthetic) | real_data_paper | live
    status: str  # traded | open | skipped | missed
    reason: str = ""
    quantity: int = 0
    fill: str | None = None
    slippage: str | None = None  # subscriber fill − operator fill, signed so that > 0 is worse for the subscriber
    slippage_cents: int = 0
    fees_cents: int = 0
    pnl_cents: int | None = None
    at_operator_prices_cents: int | None = None


@dataclass(slots=True)
class TrackingReport:
    rows: list[TrackRow] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.status for row in self.rows)

    @property
    def skipped(self) -> Counter[str]:
        return Counter(row.reason for row in self.rows if row.status == "skipped")

    def totals(self) -> dict[str, int]:
        traded = [r for r in self.rows if r.status == "traded"]
        return {
            "pnl_cents": sum(r.pnl_cents or 0 for r in traded),
            "at_operator_prices_cents": sum(r.at_operator_prices_cents or 0 for r in traded),
            "slippage_cents": sum(r.slippage_cents for r in traded),
            "fees_cents": sum(r.fees_cents for r in traded),
        }

    def as_json(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "skipped": dict(self.skipped), "totals": self.totals(),
                "rows": [asdict(r) for r in self.rows]}


def _cents(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


def _gross(signal: Signal, quantity: int, fill: Decimal, exit_price: Decimal | None, outcome: str) -> int | None:
    try:
        if kind_of(signal.surface) == "binary":
            return binary_payout_pnl(quantity, fill, outcome)
        if exit_price is None:
            return None
        return bracket_pnl(signal.instrument, signal.surface, signal.side, quantity, fill, exit_price)
    except (UnsupportedInstrument, ValueError):
        return None


def tracking_report(items: list[dict[str, Any]], paths: StatePaths) -> TrackingReport:
    """Compare the operator's resolved history with this client's own records."""
    trades: dict[str, dict[str, Trade]] = {}
    for entry in paths.log("orders").read_all():
        if entry.data.get("kind") == "trade":
            trade = parse_record(Trade, entry.data, entry.ts)
            trades.setdefault(trade.signal_id, {})[trade.status] = trade
    notes: dict[str, dict[str, Any]] = {}
    for entry in paths.log("signals").read_all():
        notes.setdefault(str(entry.data.get("signal_id")), {}).update(
            {k: v for k, v in entry.data.items() if k in ("verdict", "code", "reason")})
    report = TrackingReport()
    for item in sorted(items, key=lambda i: str((i.get("signal") or {}).get("published_at", ""))):
        try:
            signal = parse_record(Signal, item.get("signal") or {})
        except ValidationError:
            continue
        operator_fill = Decimal(str(item["fill_price"])) if item.get("fill_price") is not None else None
        operator_exit = Decimal(str(item["exit_price"])) if item.get("exit_price") is not None else None
        outcome = str(item.get("outcome", ""))
        row = TrackRow(signal.id, signal.surface, signal.instrument, signal.side, signal.published_at.isoformat(),
                       outcome, None if operator_fill is None else format(operator_fill, "f"),
                       int(item.get("pnl_cents") or 0), result_kind_of(item, signal), status="missed")
        states = trades.get(signal.id, {})
        filled = states.get("filled") or states.get("resolved")
        if filled is None or filled.fill_price is None:
            note = notes.get(signal.id)
            if note is not None:
                row.status, row.reason = "skipped", str(note.get("code") or note.get("verdict") or "other")
            report.rows.append(row)
            continue
        quantity = filled.count if filled.count is not None else (filled.units or 0)
        row.quantity, row.fill = quantity, format(filled.fill_price, "f")
        resolved = states.get("resolved")
        row.status = "traded" if resolved is not None else "open"
        row.fees_cents = (resolved or filled).fees
        row.pnl_cents = resolved.pnl if resolved is not None else None
        if operator_fill is not None:
            worse = filled.fill_price - operator_fill if is_buy(signal.side) else operator_fill - filled.fill_price
            row.slippage = format(worse, "f")
            unit = Decimal(quantity) if kind_of(signal.surface) == "binary" else Decimal(quantity) * 100
            row.slippage_cents = _cents(worse * unit)  # in the quote currency's cents until the position closes
            if resolved is not None:
                at_operator = _gross(signal, quantity, operator_fill, operator_exit, outcome)
                yours = _gross(signal, quantity, filled.fill_price, operator_exit, outcome)
                row.at_operator_prices_cents = at_operator
                if at_operator is not None and yours is not None:
                    row.slippage_cents = at_operator - yours  # in USD cents, through the same P&L arithmetic
        report.rows.append(row)
    return report


def render(report: TrackingReport) -> str:
    """The text table ``tbot-client tracking`` prints."""
    totals = report.totals()
    lines = [
        f"{'published (UTC)':<17} {'surface':<9} {'instrument':<24} {'op':<5} {'op fill':>9} {'you':<26} "
        f"{'your fill':>9} {'slip ¢':>7} {'fees ¢':>7} {'P&L ¢':>8} {'at op ¢':>8}",
    ]
    for r in report.rows:
        you = r.status if r.status != "skipped" else f"skip:{r.reason}"[:26]
        lines.append(f"{r.published_at[:16].replace('T', ' '):<17} {r.surface:<9} {r.instrument[:24]:<24} "
                     f"{r.operator_outcome:<5} {r.operator_fill or '-':>9} {you:<26} {r.fill or '-':>9} "
                     f"{r.slippage_cents if r.fill else '-':>7} {r.fees_cents if r.fill else '-':>7} "
                     f"{r.pnl_cents if r.pnl_cents is not None else '-':>8} "
                     f"{r.at_operator_prices_cents if r.at_operator_prices_cents is not None else '-':>8}")
    counts = report.counts
    lines += [
        "",
        f"operator's resolved signals {len(report.rows)}: traded {counts['traded']}, open {counts['open']}, "
        f"skipped {counts['skipped']}, missed {counts['missed']}",
        f"on the signals you traded and closed: at the operator's prices {totals['at_operator_prices_cents']}¢; "
        f"slippage {totals['slippage_cents']}¢, fees {totals['fees_cents']}¢; your P&L {totals['pnl_cents']}¢",
    ]
    if report.skipped:
        lines.append("skipped: " + ", ".join(f"{n} {reason}" for reason, n in report.skipped.most_common()))
    return "\n".join(lines)
