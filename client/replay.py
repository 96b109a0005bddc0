"""``replay --days N``: had you subscribed N days ago with this config, what would you have now?

It walks the operator's resolved signals in time order (entries at publication, exits at resolution), sizes each
with the subscriber's own rule and caps against a simulated bankroll, pays the same fees as the paper broker
(fill at the operator's reported fill price, or the signal's price plus the paper slippage), and at the end
applies the commission rule as if everything were withdrawn. The ledger doing the arithmetic is the same
:class:`client.ledger.Ledger` that ``run`` keeps.

The output says where the operator's results it replays come from (each history item's ``result_kind``, by
shared/audit/provenance.py's rule): results from simulated markets are *synthetic*. They test the operator's
machinery and are no track record, so the table, the closing sentence and the chart's title all say so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from client.commission import crystallize
from client.config import ClientConfig
from client.engine import settle
from client.ledger import Ledger, MoneyEvent, format_cents
from client.pricing import FeeTerms, UnsupportedInstrument, cost_cents, fee_cents, is_buy, kind_of
from client.sizing import SKIP_REASONS, size
from shared.audit.provenance import RESULT_KINDS, ResultKind, result_label, signal_kind
from shared.ids import derive_id
from shared.money.fx import is_pair, usd_rate_pair
from shared.records import Signal, Trade, parse_record
from shared.signing import verify_signal
from shared.timeutil import from_iso, utcnow


@dataclass(slots=True)
class SurfaceRow:
    signals: int = 0
    traded: int = 0
    wins: int = 0
    losses: int = 0
    fees_cents: int = 0
    pnl_cents: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # replayed signals per result kind (sim, ...)
    skipped: Counter[str] = field(default_factory=Counter)  # signals not traded, by client.sizing.SKIP_REASONS code


@dataclass(slots=True)
class ReplayResult:
    start_cents: int
    equity_before_commission_cents: int
    commission_cents: int
    final_cents: int
    rows: dict[str, SurfaceRow] = field(default_factory=dict)
    curve: list[tuple[datetime, int]] = field(default_factory=list)
    skipped_bad_signature: int = 0
    skipped_dry_run: int = 0
    skipped_not_followed: int = 0

    @property
    def skipped(self) -> Counter[str]:
        """Every signal ``run`` would not have traded, by reason code (those left out of the table included)."""
        total: Counter[str] = Counter()
        for row in self.rows.values():
            total.update(row.skipped)
        for code, count in (("bad_signature", self.skipped_bad_signature), ("operator_paper", self.skipped_dry_run),
                            ("not_followed", self.skipped_not_followed)):
            if count:
                total[code] += count
        return total

    @property
    def kinds(self) -> Counter[str]:
        """Replayed signals per result kind, over every surface."""
        total: Counter[str] = Counter()
        for row in self.rows.values():
            total.update(row.kinds)
        return total

    @property
    def source(self) -> str:
        """Where the replayed results come from, in words: "synthetic (sim)", "real-data paper + live", ..."""
        return sources_label(self.kinds)

    def as_json(self) -> dict[str, Any]:
        return {
            "start_cents": self.start_cents,
            "equity_before_commission_cents": self.equity_before_commission_cents,
            "commission_cents": self.commission_cents,
            "final_cents": self.final_cents,
            "skipped_bad_signature": self.skipped_bad_signature,
            "skipped_dry_run": self.skipped_dry_run,
            "skipped": dict(self.skipped),
            "source": self.source,
            "result_kinds": dict(self.kinds),
            "surfaces": {name: asdict(row) | {"kinds": dict(row.kinds), "skipped": dict(row.skipped)}
                         for name, row in sorted(self.rows.items())},
        }


def sources_label(kinds: Counter[str]) -> str:
    """Result kinds present, in words and a fixed order: "synthetic (sim) + real-data paper"; "none" if empty."""
    present = [result_label(k) for k in RESULT_KINDS if kinds.get(k)]
    return " + ".join(present) if present else "none"


def result_kind_of(item: dict[str, Any], signal: Signal) -> ResultKind:
    """The kind of the operator's result behind a history item: the server's ``result_kind``, never promoted
    past what the signal itself shows (a sim-venue signal is synthetic whatever an item says); an older server
    without the field is read from the signal and the resolution source."""
    if signal_kind(signal) == "sim" or item.get("resolution_source") == "sim":
        return "sim"
    reported = item.get("result_kind")
    for kind in RESULT_KINDS:
        if reported == kind:
            return kind
    return signal_kind(signal)


def _fill_price(config: ClientConfig, signal: Signal, item: dict[str, Any]) -> Decimal:
    raw = item.get("fill_price")
    if raw is not None:
        return Decimal(str(raw))
    if kind_of(signal.surface) == "binary":
        return min(Decimal("0.99"), signal.limit_price + config.broker.paper_slippage_binary)
    move = signal.limit_price * config.broker.paper_slippage_fraction
    return signal.limit_price + move if is_buy(signal.side) else signal.limit_price - move


def simulate(config: ClientConfig, items: Iterable[dict[str, Any]], public_key: Ed25519PublicKey) -> ReplayResult:
    """Run the subscriber's rules over the operator's resolved history; pure (no I/O)."""
    start = config.replay.bankroll_cents
    events: list[tuple[datetime, int, Signal, dict[str, Any]]] = []
    result = ReplayResult(start, start, 0, start)
    prices: dict[str, list[tuple[datetime, Decimal]]] = {}  # every verified signal's price: FX crosses' USD rates
    for item in items:
        raw = item.get("signal")
        if not isinstance(raw, dict):
            continue
        try:
            signal = parse_record(Signal, raw)
        except ValidationError:
            continue
        if not verify_signal(signal, public_key):
            result.skipped_bad_signature += 1
            continue
        if signal.dry_run and not config.trades_dry_run:
            result.skipped_dry_run += 1  # as ``run`` would: a live broker does not follow operator paper signals
            continue
        prices.setdefault(signal.instrument, []).append((signal.published_at, signal.limit_price))
        feed = config.feed
        if signal.surface not in feed.surfaces or (feed.sub_strategies and signal.sub_strategy
                                                   not in feed.sub_strategies):
            result.skipped_not_followed += 1
            continue
        resolved_raw = item.get("resolved_at")
        resolved_at = from_iso(resolved_raw) if isinstance(resolved_raw, str) else signal.expires_at
        events.append((signal.published_at, 0, signal, item))
        events.append((max(resolved_at, signal.published_at), 1, signal, item))
    events.sort(key=lambda e: (e[0], e[1], e[2].id))
    rates = _RateBook(prices)
    stop_level = None
    if config.control.equity_stop_fraction > 0:
        stop_level = int((config.control.equity_stop_fraction * start).to_integral_value(rounding=ROUND_CEILING))
    stopped = False

    ledger = Ledger(config.commission_rate)
    first = events[0][0] if events else None
    ledger.apply_money(MoneyEvent(id="replay-deposit", type="deposit", amount_cents=start,
                                  at=first or utcnow()))
    if first is not None:
        result.curve.append((first, ledger.equity_cents))
    for at, phase, signal, item in events:
        row = result.rows.setdefault(signal.surface, SurfaceRow())
        if phase == 0:
            row.signals += 1
            row.kinds[result_kind_of(item, signal)] += 1
            limit = config.control.max_open_positions
            if stopped:
                skip: str | None = "equity_stop"
            elif limit and len(ledger.positions) >= limit:
                skip = "max_open_positions"
            else:
                skip = _enter(config, ledger, signal, item, at, rates.rate(signal, at))
            if skip is not None:
                row.skipped[skip] += 1
            elif ledger.status_of(signal.id) == "filled":
                row.traded += 1
            continue
        position = ledger.positions.get(signal.id)
        outcome = str(item.get("outcome", ""))
        if position is None or outcome not in ("win", "loss", "void"):
            continue
        try:
            gross, exit_fees, exit_price = settle(signal, position.quantity, position.fill_price, outcome, item, config,
                                                  usd_quote_rate=rates.rate(signal, at))
        except (UnsupportedInstrument, ValueError):
            continue
        fees = position.fees_cents + exit_fees
        pnl = gross - fees
        ledger.apply_trade(_trade(signal, "resolved", position.quantity, position.fill_price, position.cost_cents,
                                  fees, at).model_copy(update={"pnl": pnl, "exit_price": exit_price,
                                                               "resolved_at": at}))
        row.fees_cents += fees
        row.pnl_cents += pnl
        row.wins += pnl > 0
        row.losses += pnl <= 0
        result.curve.append((at, ledger.equity_cents))
        if stop_level is not None and ledger.equity_cents < stop_level:
            stopped = True  # as run's equity stop: no new positions (open ones resolve as they would)
    due = crystallize(ledger.realized_pnl_cents, 0, config.commission_rate)
    result.equity_before_commission_cents = ledger.equity_cents
    result.commission_cents = due.amount_cents
    result.final_cents = ledger.equity_cents - due.amount_cents
    return result


class _RateBook:
    """The ``USD_<quote>`` rate an FX cross needs at a moment, from the prices of the operator's own signals on that
    pair (the nearest within a day), as ``run`` uses the latest verified signal when its broker has no quote."""

    def __init__(self, prices: dict[str, list[tuple[datetime, Decimal]]]) -> None:
        self._prices = {pair: sorted(points) for pair, points in prices.items()}

    def rate(self, signal: Signal, at: datetime) -> Decimal | None:
        if kind_of(signal.surface) != "fx" or not is_pair(signal.instrument):
            return None
        pair = usd_rate_pair(signal.instrument)
        points = self._prices.get(pair or "", [])
        if not points:
            return None
        nearest = min(points, key=lambda point: abs((point[0] - at).total_seconds()))
        return nearest[1] if abs(nearest[0] - at) <= timedelta(days=1) else None


def _enter(config: ClientConfig, ledger: Ledger, signal: Signal, item: dict[str, Any], at: datetime,
           rate: Decimal | None) -> str | None:
    """Open the position ``run`` would have opened; the reason code when it would not have."""
    try:
        decision = size(config.sizing, signal, equity_cents=ledger.equity_cents,
                        staked_today_cents=ledger.staked_on(at.date()), cash_cents=ledger.cash_cents,
                        usd_quote_rate=rate)
    except UnsupportedInstrument:
        return "unsupported"
    if decision.quantity <= 0:
        return decision.skip or "stake_too_small"
    price = _fill_price(config, signal, item)
    buy = is_buy(signal.side)
    if (buy and price > decision.worst_price) or (not buy and price < decision.worst_price):
        return "rejected"  # the order's limit would not have filled
    cost = cost_cents(signal.surface, signal.instrument, price, decision.quantity, usd_quote_rate=rate)
    fee = fee_cents(signal.surface, signal.instrument, price, decision.quantity, FeeTerms.of(config.broker),
                    usd_quote_rate=rate)
    ledger.apply_trade(_trade(signal, "intent", decision.quantity, None, cost, 0, at))
    ledger.apply_trade(_trade(signal, "filled", decision.quantity, price, cost, fee, at))
    return None


def _trade(
    signal: Signal, status: str, quantity: int, fill: Decimal | None, cost: int, fees: int, at: datetime
) -> Trade:
    binary = kind_of(signal.surface) == "binary"
    return Trade(
        id=derive_id("trade", signal.id), signal_id=signal.id, client_order_id=derive_id("coid", signal.id),
        status=status,
        surface=signal.surface, venue="sim", instrument=signal.instrument, side=signal.side,
        count=quantity if binary else None, units=None if binary else quantity, fill_price=fill,
        cost_cents=cost, fees=fees, opened_at=at,
    )


def render_table(result: ReplayResult, days: int) -> str:
    """The text table ``replay`` prints."""
    header = (f"{'surface':<10} {'signals':>7} {'traded':>6} {'skipped':>7} {'wins':>5} {'losses':>6} {'fees':>12} "
              f"{'P&L':>14}  operator's results from")
    lines = [f"Operator's results replayed: {result.source}."]
    if result.kinds.get("sim"):
        lines.append("Synthetic (sim) results come from simulated markets: they test the operator's machinery and "
                     "are not a track record.")
    lines += ["", header, "-" * len(header)]
    total = SurfaceRow()
    for name in sorted(result.rows):
        row = result.rows[name]
        lines.append(f"{name:<10} {row.signals:>7} {row.traded:>6} {sum(row.skipped.values()):>7} {row.wins:>5} "
                     f"{row.losses:>6} {format_cents(row.fees_cents):>12} {format_cents(row.pnl_cents):>14}  "
                     f"{sources_label(row.kinds)}")
        for attr in ("signals", "traded", "wins", "losses", "fees_cents", "pnl_cents"):
            setattr(total, attr, getattr(total, attr) + getattr(row, attr))
    lines.append("-" * len(header))
    skipped_total = sum(sum(row.skipped.values()) for row in result.rows.values())
    lines.append(f"{'total':<10} {total.signals:>7} {total.traded:>6} {skipped_total:>7} {total.wins:>5} "
                 f"{total.losses:>6} {format_cents(total.fees_cents):>12} {format_cents(total.pnl_cents):>14}")
    if result.skipped:
        lines.append("")
        lines.append("not traded, by reason:")
        for name in sorted(result.rows):
            for code, count in sorted(result.rows[name].skipped.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"  {name:<10} {count:>5}  {code:<22} {SKIP_REASONS.get(code, '')}")
        if result.skipped_not_followed:
            lines.append(f"  {'(others)':<10} {result.skipped_not_followed:>5}  {'not_followed':<22} "
                         f"{SKIP_REASONS['not_followed']}")
    lines.append("")
    lines.append(f"start                    {format_cents(result.start_cents):>14}")
    lines.append(f"equity before commission {format_cents(result.equity_before_commission_cents):>14}")
    lines.append(f"commission (15% > HWM)   {format_cents(result.commission_cents):>14}")
    if result.skipped_dry_run:
        lines.append(f"(not counted: {result.skipped_dry_run} operator paper signals, which your live broker would "
                     "not trade; set trade_dry_run_signals = true to include them)")
    if result.skipped_bad_signature:
        lines.append(f"(ignored {result.skipped_bad_signature} history items with an invalid signature)")
    lines.append("")
    lines.append(f"Had you subscribed {days} days ago with this config, you would have "
                 f"{format_cents(result.final_cents)} (from {format_cents(result.start_cents)}), replaying the "
                 f"operator's {result.source} results.")
    return "\n".join(lines)


def span_text(seconds: float) -> str:
    """A duration in the unit a person would use: "42 s", "3.5 min", "5.2 h", "12.3 days"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86_400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


def chart_title(result: ReplayResult, days: int) -> str:
    """The PNG's title: the source of the operator's results (the picture never travels unlabelled) and the span
    the data actually covers, which may be far shorter than the ``days`` asked for."""
    if len(result.curve) < 2:
        covered = "no resolved signals"
    else:
        first, last = result.curve[0][0], result.curve[-1][0]
        covered = (f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC "
                   f"({span_text((last - first).total_seconds())})")
    return (f"Replay of {result.source} results, {covered}\n"
            f"(asked for the last {days} days); equity (USD), before commission")


def write_chart(result: ReplayResult, path: Path, days: int) -> Path:
    """An equity-curve PNG (matplotlib, Agg backend: no display needed)."""
    import matplotlib.pyplot as plt

    figure = equity_figure(result, days)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def equity_figure(result: ReplayResult, days: int) -> Any:
    """The equity curve on a UTC time axis whose ticks suit the span: minutes and hours for a short replay, days
    and months for a long one (matplotlib's concise date formatter)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 4.5), dpi=100)
    if result.curve:
        times = [moment for moment, _ in result.curve]
        values = [float(Decimal(cents) / 100) for _, cents in result.curve]  # plotting only
        axes.step(times, values, where="post", color="#1f6feb")  # type: ignore[arg-type]
        locator = mdates.AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]
        if times[0] == times[-1]:
            axes.set_xlim(times[0] - timedelta(minutes=30), times[0] + timedelta(minutes=30))  # type: ignore[arg-type]
    axes.axhline(result.start_cents / 100, color="#888888", linewidth=0.8, linestyle="--")
    axes.set_title(chart_title(result, days), fontsize=10)
    axes.set_ylabel("equity ($)")
    axes.set_xlabel("time (UTC)")
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure
