"""The follower: what the client does with each signal, each outcome and each restart.

One signal's path: parse → verify the signature against the pinned key → dedup → follow filter → expiry →
size locally → intent (fsync'd) → order with a client order id derived from the signal id → filled record →
callbacks through the outbox. Every step leaves a record first, so a crash anywhere is repaired at the next
start by :meth:`Follower.recover` without a second order and without a lost callback.
"""

from __future__ import annotations

import logging
import os
import signal as signals
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from client.brokers import Broker
from client.config import ClientConfig
from client.control import ControlLog, close_order_id
from client.ledger import Ledger, MoneyEvent, OpenPosition, format_cents
from client.outbox import Outbox
from client.pricing import (
    FeeTerms,
    UnsupportedInstrument,
    binary_payout_pnl,
    bracket_pnl,
    cost_cents,
    fee_cents,
    kind_of,
)
from client.sizing import size
from client.store import StatePaths
from shared.ids import derive_id
from shared.money.fx import is_pair, usd_rate_pair
from shared.records import Signal, Trade, parse_record
from shared.signing import verify_signal
from shared.surfaces import LIVE_VENUE_NAMES, surfaces_of_venue
from shared.timeutil import from_iso, to_iso, utcnow
from shared.venues.base import OrderRequest, OrderResult

log = logging.getLogger(__name__)

# What each live broker can trade (read from the table of surfaces); the paper broker trades every surface.
BROKER_SURFACES: dict[str, tuple[str, ...]] = {venue: surfaces_of_venue(venue) for venue in LIVE_VENUE_NAMES}

FAULT_ENV = "TBOT_CLIENT_FAULT"
"""Crash-test hook: ``after_intent``, ``after_place`` or ``in_batch`` (after the first signal handled in a batch)
SIGKILLs the client at that point (tests only)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one signal (or one resolution): one line for people, one object for machines."""

    signal_id: str
    verdict: str  # traded | resolved | closed | duplicate | expired | bad_signature | malformed | filtered | skipped
    # | rejected | error; a signal not traded carries ``detail["reason"]``, a code from client.sizing.SKIP_REASONS
    message: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def skip_reason(self) -> str | None:
        reason = self.detail.get("reason")
        return reason if isinstance(reason, str) else None

    def line(self) -> str:
        return f"{self.verdict:<13} {self.signal_id}  {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"signal_id": self.signal_id, "verdict": self.verdict, "message": self.message, **self.detail}


def fault(point: str) -> None:
    """SIGKILL this process at ``point`` when the crash-test hook names it."""
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signals.SIGKILL)


class Follower:
    """Holds the client's state (ledger, dedup set, outbox) and applies signals and outcomes to it."""

    def __init__(
        self,
        config: ClientConfig,
        broker: Broker,
        public_key: Ed25519PublicKey,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.paths = StatePaths(config.state_dir)
        self.paths.ensure()
        self.broker = broker
        self.public_key = public_key
        self.now = now
        self.orders = self.paths.log("orders")
        self.money = self.paths.log("money")
        self.seen_log = self.paths.log("signals")
        self.outbox = Outbox(self.paths.log("outbox"), self.paths.delivery_lock)
        self.mode = "paper" if config.broker.kind == "paper" else "live"
        self.ledger = Ledger(config.commission_rate)
        self._orders_reader = self.orders.reader()
        self._money_reader = self.money.reader()
        self._accepted: dict[str, Signal] = {}
        self._finished: set[str] = set()
        self._unconfirmed: set[str] = set()
        self._entry_rates: dict[str, Decimal] = {}
        self._seen_prices: dict[str, tuple[Decimal, datetime]] = {}
        self._signals_reader = self.seen_log.reader()
        self.control = ControlLog(self.paths.root)
        self.refresh()

    # ------------------------------------------------------------------ state from records
    def refresh(self) -> None:
        """Fold records appended since the last look (a ``withdraw`` in another process, for one)."""
        for entry in self._orders_reader.read():
            self.ledger.apply_entry(entry)
        for entry in self._money_reader.read():
            self.ledger.apply_entry(entry)
        for entry in self._signals_reader.read():
            data = entry.data
            signal_id = data.get("signal_id")
            if not isinstance(signal_id, str):
                continue
            if data.get("verdict") == "accepted" and isinstance(data.get("signal"), dict):
                self._accepted[signal_id] = parse_record(Signal, data["signal"])
            elif data.get("verdict") == "rate" and isinstance(data.get("usd_quote_rate"), str):
                self._entry_rates[signal_id] = Decimal(data["usd_quote_rate"])
            elif data.get("final"):
                self._finished.add(signal_id)
        self.control.refresh()

    def _append_trade(self, trade: Trade) -> None:
        self.orders.append(trade)
        self.refresh()

    def _note(self, signal_id: str, verdict: str, reason: str, *, final: bool, data: Any = None,
              code: str = "") -> None:
        record: dict[str, Any] = {"signal_id": signal_id, "verdict": verdict, "reason": reason, "final": final}
        if code:
            record["code"] = code
        if data is not None:
            record["signal"] = data
        self.seen_log.append(record)
        self.refresh()

    def _skip(self, signal: Signal, verdict: str, code: str, reason: str, message: str, *,
              note: bool = True) -> Outcome:
        """A signal not traded: noted (final) with its reason code, reported with it."""
        if note:
            self._note(signal.id, verdict, reason, final=True, code=code)
        return Outcome(signal.id, verdict, message, {"reason": code, "surface": signal.surface})

    # ------------------------------------------------------------------ start-up
    def recover(self) -> list[Outcome]:
        """Repair whatever a crash left half done; run once before polling."""
        outcomes: list[Outcome] = []
        self.refresh()
        if self.mode == "paper" and self.ledger.deposits_cents == 0:
            self.money.append(MoneyEvent(id="paper-initial-deposit", type="deposit",
                                         amount_cents=self.config.broker.starting_bankroll_cents, at=self.now()))
            self.refresh()
        for signal_id, signal in list(self._accepted.items()):
            if signal_id in self._finished:
                continue
            status = self.ledger.status_of(signal_id)
            if status is None:
                outcomes.append(self._trade(signal, recovering=True))
            elif status == "intent":
                outcomes.append(self._reconcile_intent(signal))
            else:
                self._note(signal_id, "traded" if status == "filled" else status, "recovered", final=True)
        self._enqueue_missing_callbacks()
        outcomes.extend(self.flatten_pending())  # a flatten a crash interrupted: asked of the broker first
        outcomes.extend(self.check_equity_stop())
        return outcomes

    # ------------------------------------------------------------------ control: equity stop, flatten
    def equity_stop_level_cents(self) -> int | None:
        """Equity below which everything is flattened and trading paused; None when the stop is off."""
        fraction = self.config.control.equity_stop_fraction
        net = self.ledger.deposits_cents - self.ledger.withdrawals_cents
        if fraction <= 0 or net <= 0:
            return None
        return int((fraction * net).to_integral_value(rounding=ROUND_CEILING))

    def check_equity_stop(self) -> list[Outcome]:
        """Trip the equity stop once when equity falls below its level: record it, pause, flatten.

        Equity marks open positions at cost, so the stop reacts to realized losses. After a trip it stays
        disarmed (``resume`` trades again) until equity is back above the level, so it cannot trip in a loop.
        """
        level = self.equity_stop_level_cents()
        if level is None:
            return []
        equity = self.ledger.equity_cents
        state = self.control.state
        if not state.equity_stop_armed:
            if equity >= level:
                self.control.append("equity_stop_rearmed", self.now(), equity_cents=equity, level_cents=level)
            return []
        if equity >= level:
            return []
        now = self.now()
        self.control.append("equity_stop", now, equity_cents=equity, level_cents=level)
        self.control.pause(now, "equity_stop")
        self.control.request_flatten(now, "equity_stop")
        outcomes = [Outcome("control", "equity_stop",
                            f"equity {format_cents(equity)} below the stop at {format_cents(level)}: "
                            "flattening every position and pausing (tbot-client resume to trade again)",
                            {"equity_cents": equity, "level_cents": level})]
        return outcomes + self.flatten_pending()

    def flatten_pending(self) -> list[Outcome]:
        """Close every open position for the oldest flatten request, through the durable close lifecycle.

        Positions are closed per instrument and side (a live venue's ``close_position`` closes the whole holding
        in a symbol). For each group: a ``close_intent`` per trade is fsync'd, then the broker is asked by the
        close's client order id (a close a crash interrupted is found, not sent twice), then the close is sent,
        then each trade's ``resolved`` line is written with its share of the exit.
        """
        pending = self.control.state.flatten_pending
        if not pending:
            return []
        request = next(iter(pending))
        groups: dict[tuple[str, str], list[OpenPosition]] = {}
        for position in sorted(self.ledger.positions.values(), key=lambda p: p.signal_id):
            groups.setdefault((position.instrument, position.side), []).append(position)
        outcomes: list[Outcome] = []
        failed = False
        for group in groups.values():
            result = self._close_group(group, request)
            failed = failed or any(o.verdict != "closed" for o in result)
            outcomes.extend(result)
        if not failed:  # every request pending now is satisfied: nothing is left open
            for done in list(pending):
                self.control.append("flatten_done", self.now(), request=done, closed=len(outcomes))
        return outcomes

    def _close_group(self, group: list[OpenPosition], request: str) -> list[Outcome]:
        first = group[0]
        signal = self._accepted.get(first.signal_id)
        if signal is None:
            return [Outcome(first.signal_id, "error", "cannot close: its signal is not in signals.jsonl")]
        coid = close_order_id(derive_id("trade", first.signal_id), request)
        closes = self.control.state.closes
        # An intent already on disk for this close means a previous run may have sent it (since that intent's time).
        earlier = [intent.at for p in group if (intent := closes.get(derive_id("trade", p.signal_id))) is not None
                   and intent.client_order_id == coid]
        for position in group:
            trade_id = derive_id("trade", position.signal_id)
            known = closes.get(trade_id)
            if known is None or known.client_order_id != coid:
                self.control.close_intent(self.now(), trade_id=trade_id, signal_id=position.signal_id,
                                          quantity=position.quantity, request=request, client_order_id=coid)
        fault("after_close_intent")
        quantity = sum(p.quantity for p in group)
        try:
            result = self.broker.lookup(coid)
            if result is None:
                order = OrderRequest(client_order_id=coid, symbol=signal.instrument, side=signal.side,
                                     intent="close", quantity=quantity, time_in_force="ioc")
                # A close sent before a crash that the broker cannot find by its id (OANDA) shows as the position
                # gone and a closing fill since the intent: record that one instead of closing again.
                result = self.broker.exit_fill(order, min(earlier)) if earlier else None
                if result is None:
                    result = self.broker.close(order, signal)
        except Exception as exc:  # the close intent stays: asked of the broker again next turn or start
            log.warning("close of %s failed: %s", signal.instrument, exc)
            return [Outcome(first.signal_id, "error",
                            f"close of {signal.instrument} not confirmed ({type(exc).__name__}); will retry")]
        fault("after_close")
        if result.status not in ("filled", "partially_filled") or result.filled_quantity <= 0:
            self.control.append("flatten_done", self.now(), request=request, failed=True,
                                reason=f"{signal.instrument}: {result.reason or result.status}")
            return [Outcome(first.signal_id, "error",
                            f"close of {signal.instrument} refused ({result.reason or result.status}); "
                            "position still open: run tbot-client flatten again")]
        return self._record_close(group, result, request)

    def _record_close(self, group: list[OpenPosition], result: OrderResult, request: str) -> list[Outcome]:
        price = result.avg_fill_price
        assert price is not None
        outcomes: list[Outcome] = []
        left_quantity, left_fees = result.filled_quantity, result.fees_cents
        for index, position in enumerate(group):
            signal = self._accepted[position.signal_id]
            if position.quantity > left_quantity:
                log.warning("close of %s filled only part of %s; it stays open", signal.instrument, signal.id)
                outcomes.append(Outcome(signal.id, "error", f"{signal.instrument}: close only partly filled"))
                continue
            last = index == len(group) - 1
            exit_fees = left_fees if last else result.fees_cents * position.quantity // result.filled_quantity
            left_quantity -= position.quantity
            left_fees -= exit_fees
            gross = exit_gross(signal, position.quantity, position.fill_price, price,
                               self.usd_quote_rate(signal))
            fees = position.fees_cents + exit_fees
            pnl = gross - fees
            trade = self._trade_record(
                signal, "resolved", quantity=position.quantity, fill=position.fill_price, cost=position.cost_cents,
                fees=fees,
            ).model_copy(update={"pnl": pnl, "exit_price": price, "resolved_at": result.at,
                                 "opened_at": position.opened_at, "reason": f"flattened ({request})"})
            self._append_trade(trade)
            self._enqueue(signal.id, "resolved", _resolved_body(trade))
            outcomes.append(Outcome(
                signal.id, "closed",
                f"{signal.surface} {signal.instrument} {signal.side} closed @ {price}: P&L {format_cents(pnl)} "
                f"(fees {format_cents(fees)}); equity {format_cents(self.ledger.equity_cents)}",
                {"surface": signal.surface, "instrument": signal.instrument, "exit_price": format(price, "f"),
                 "pnl_cents": pnl, "fees_cents": fees},
            ))
        return outcomes

    def retry_unconfirmed(self) -> list[Outcome]:
        """Orders whose send failed this session (broker down, timeout): ask the broker again by client order id."""
        outcomes: list[Outcome] = []
        for signal_id in sorted(self._unconfirmed):
            signal = self._accepted.get(signal_id)
            if signal is None or self.ledger.status_of(signal_id) != "intent":
                self._unconfirmed.discard(signal_id)
                continue
            try:
                outcome = self._reconcile_intent(signal)
            except Exception as exc:  # the broker is still unreachable: try again next turn
                log.info("still cannot confirm %s: %s", signal_id, exc)
                continue
            if outcome.verdict != "error":
                self._unconfirmed.discard(signal_id)
            outcomes.append(outcome)
        return outcomes

    def _reconcile_intent(self, signal: Signal) -> Outcome:
        """An intent without an outcome: ask the broker by client order id before anything is sent again."""
        coid = derive_id("coid", signal.id)
        result = self.broker.lookup(coid)
        if result is None:
            if self.now() >= signal.expires_at:
                trade = self._trade_record(signal, "cancelled", reason="never sent; signal expired before restart")
                self._append_trade(trade)
                self._note(signal.id, "expired", "intent never sent; expired", final=True, code="expired")
                return Outcome(signal.id, "expired", "order never reached the broker; signal now expired")
            if self.control.state.paused:  # paused (or flattened) since: the order is not sent now
                trade = self._trade_record(signal, "cancelled", reason="never sent; trading paused before restart")
                self._append_trade(trade)
                return self._skip(signal, "skipped", self._pause_code(), "intent never sent; paused",
                                  f"{signal.instrument}: order never reached the broker; trading paused")
            return self._place(signal, self._intent_quantity(signal), self._intent_limit(signal), coid)
        return self._record_result(signal, result, recovered=True)

    def _intent_quantity(self, signal: Signal) -> int:
        for entry in self.orders.reader().read():
            if entry.data.get("signal_id") == signal.id and entry.data.get("status") == "intent":
                trade = parse_record(Trade, entry.data)
                return trade.count if trade.count is not None else (trade.units or 0)
        return 0

    def _intent_limit(self, signal: Signal) -> Decimal:
        for entry in self.orders.reader().read():
            if entry.data.get("signal_id") == signal.id and entry.data.get("status") == "intent":
                trade = parse_record(Trade, entry.data)
                return trade.limit_price or signal.limit_price
        return signal.limit_price

    def _enqueue_missing_callbacks(self) -> None:
        for signal_id in self._accepted:
            self._enqueue(signal_id, "ack", {})
        for entry in self.orders.reader().read():
            data = entry.data
            signal_id = str(data.get("signal_id"))
            if data.get("status") == "filled":
                self._enqueue(signal_id, "executed", _executed_body(parse_record(Trade, data)))
            elif data.get("status") == "resolved":
                self._enqueue(signal_id, "resolved", _resolved_body(parse_record(Trade, data)))
        for entry in self.money.reader().read():
            if entry.data.get("type") == "commission":
                event = parse_record(MoneyEvent, entry.data)
                enqueue_commission(self.outbox, event)

    def _enqueue(self, signal_id: str, kind: str, body: dict[str, Any]) -> None:
        self.outbox.enqueue(f"{kind}:{signal_id}", f"/api/signals/{signal_id}/{kind}", body, group=signal_id)

    # ------------------------------------------------------------------ signals
    def handle(self, data: dict[str, Any]) -> Outcome:
        """Apply one signal from the feed."""
        raw_id = str(data.get("id", "?"))
        try:
            signal = parse_record(Signal, data)
        except ValidationError as exc:
            self._note(raw_id, "malformed", str(exc.errors()[0].get("msg", "invalid")), final=True, data=None,
                       code="malformed")
            return Outcome(raw_id, "malformed", "not a valid signal; ignored", {"reason": "malformed"})
        if not verify_signal(signal, self.public_key):
            # Logged with its content for the subscriber to inspect; never traded, never acked.
            self.seen_log.append({"signal_id": signal.id, "verdict": "bad_signature", "final": False,
                                  "code": "bad_signature",
                                  "reason": "signature does not match the pinned operator key", "raw": data})
            return Outcome(signal.id, "bad_signature", "signature invalid for the pinned key; rejected, not traded",
                           {"reason": "bad_signature", "surface": signal.surface})
        self._seen_prices[signal.instrument] = (signal.limit_price, signal.published_at)
        if signal.id in self._accepted or self.ledger.knows(signal.id):
            return Outcome(signal.id, "duplicate", "already handled; ignored")
        feed = self.config.feed
        if signal.surface not in feed.surfaces or (feed.sub_strategies and signal.sub_strategy
                                                   not in feed.sub_strategies):
            return self._skip(signal, "filtered", "not_followed", "not followed",
                              f"{signal.surface}/{signal.sub_strategy} not followed", note=False)
        if self.now() >= signal.expires_at:
            return self._skip(signal, "expired", "expired", f"expired at {to_iso(signal.expires_at)}",
                              f"{signal.instrument} expired at {to_iso(signal.expires_at)}; skipped")
        served = BROKER_SURFACES.get(self.config.broker.kind)
        if served is not None and signal.surface not in served:
            reason = f"your {self.config.broker.kind} broker does not trade {signal.surface}"
            return self._skip(signal, "skipped", "broker_cannot_trade", reason, f"{signal.instrument}: {reason}")
        if signal.dry_run and not self.config.trades_dry_run:
            return self._skip(signal, "skipped", "operator_paper", "operator paper signal; not traded live",
                              f"{signal.instrument}: operator dry-run signal; not traded live")
        control = self.control.state
        if control.paused:
            why = f"paused ({control.pause_reason})" if control.pause_reason else "paused"
            return self._skip(signal, "skipped", self._pause_code(), why,
                              f"{signal.instrument}: trading {why}; not traded")
        limit = self.config.control.max_open_positions
        if limit and len(self._open_or_pending()) >= limit:
            return self._skip(signal, "skipped", "max_open_positions", f"{limit} positions open",
                              f"{signal.instrument}: {limit} positions already open (max_open_positions)")
        self._note(signal.id, "accepted", "verified", final=False, data=signal.to_json_dict())
        self._enqueue(signal.id, "ack", {})
        return self._trade(signal, recovering=False)

    def _open_or_pending(self) -> list[str]:
        return [t.signal_id for t in self.ledger.portfolio.open_trades(("intent", "placed", "filled"))]

    def usd_quote_rate(self, signal: Signal) -> Decimal | None:
        """The ``USD_<quote>`` rate an FX cross converts with: the broker's quote, else the latest verified signal
        on that pair (within a day), else the rate recorded when the position opened. None for anything else."""
        if kind_of(signal.surface) != "fx" or not is_pair(signal.instrument):
            return None
        pair = usd_rate_pair(signal.instrument)
        if pair is None:
            return None
        rate = self.broker.usd_rate(pair)
        if rate is not None and rate > 0:
            return rate
        seen = self._seen_prices.get(pair)
        if seen is not None and self.now() - seen[1] <= timedelta(days=1):
            return seen[0]
        return self._entry_rates.get(signal.id)

    def _pause_code(self) -> str:
        return "equity_stop" if self.control.state.pause_reason == "equity_stop" else "paused"

    def _trade(self, signal: Signal, *, recovering: bool) -> Outcome:
        if self.now() >= signal.expires_at:
            return self._skip(signal, "expired", "expired", "expired before the order was sent",
                              f"{signal.instrument} expired before the order was sent")
        if self.control.state.paused:  # accepted before a pause, never ordered (a restart in between)
            return self._skip(signal, "skipped", self._pause_code(), "paused before the order was sent",
                              f"{signal.instrument}: trading paused before the order was sent")
        today = self.now().date()
        rate = self.usd_quote_rate(signal)
        try:
            decision = size(self.config.sizing, signal, equity_cents=self.ledger.equity_cents,
                            staked_today_cents=self.ledger.staked_on(today), cash_cents=self.ledger.cash_cents,
                            usd_quote_rate=rate)
        except UnsupportedInstrument as exc:
            return self._skip(signal, "skipped", "unsupported", str(exc), f"{signal.instrument}: {exc}")
        if decision.quantity <= 0:
            return self._skip(signal, "skipped", decision.skip or "stake_too_small", decision.reason,
                              f"{signal.instrument}: size 0 ({decision.reason})")
        if rate is not None:
            self.seen_log.append({"signal_id": signal.id, "verdict": "rate", "final": False,
                                  "usd_quote_rate": format(rate, "f")})
        coid = derive_id("coid", signal.id)
        intent = self._trade_record(
            signal, "intent", quantity=decision.quantity, limit=decision.worst_price,
            cost=cost_cents(signal.surface, signal.instrument, decision.worst_price, decision.quantity,
                            usd_quote_rate=rate),
        )
        self._append_trade(intent)  # fsync'd before the order leaves
        fault("after_intent")
        return self._place(signal, decision.quantity, decision.worst_price, coid)

    def _place(self, signal: Signal, quantity: int, limit: Decimal, coid: str) -> Outcome:
        request = OrderRequest(
            client_order_id=coid, symbol=signal.instrument, side=signal.side,
            intent="open", quantity=quantity, limit_price=limit,
            time_in_force="ioc", stop_loss=signal.stop_loss, take_profit=signal.take_profit,
        )
        try:
            result = self.broker.place(request, signal)
        except Exception as exc:  # the intent stays open: reconciled by client order id on the next turn or start
            log.warning("order for %s failed: %s", signal.id, exc)
            self._unconfirmed.add(signal.id)
            return Outcome(signal.id, "error", f"order not confirmed ({type(exc).__name__}); will reconcile")
        fault("after_place")
        return self._record_result(signal, result, recovered=False)

    def _record_result(self, signal: Signal, result: OrderResult, *, recovered: bool) -> Outcome:
        note = " (recovered after restart)" if recovered else ""
        if result.status not in ("filled", "partially_filled") or result.filled_quantity <= 0:
            trade = self._trade_record(signal, "rejected", reason=result.reason or result.status)
            self._append_trade(trade)
            self._note(signal.id, "rejected", result.reason, final=True, code="rejected")
            return Outcome(signal.id, "rejected", f"{signal.instrument}: order not filled ({result.reason}){note}",
                           {"reason": "rejected", "surface": signal.surface})
        price = result.avg_fill_price or signal.limit_price
        trade = self._trade_record(
            signal, "filled", quantity=result.filled_quantity, limit=signal.limit_price, fill=price,
            cost=cost_cents(signal.surface, signal.instrument, price, result.filled_quantity,
                            usd_quote_rate=self.usd_quote_rate(signal)),
            fees=result.fees_cents, venue_order_id=result.venue_order_id,
        )
        self._append_trade(trade)
        self._enqueue(signal.id, "executed", _executed_body(trade))
        self._note(signal.id, "traded", "filled", final=True)
        qty = _quantity_text(signal.surface, result.filled_quantity)
        return Outcome(
            signal.id, "traded",
            f"{signal.surface} {signal.instrument} {signal.side} {qty} @ {price} fees {format_cents(result.fees_cents)}"
            f" cost {format_cents(trade.cost_cents or 0)}{note}",
            {"surface": signal.surface, "instrument": signal.instrument, "side": signal.side,
             "quantity": result.filled_quantity, "fill_price": format(price, "f"), "fees_cents": result.fees_cents},
        )

    def _trade_record(
        self,
        signal: Signal,
        status: str,
        *,
        quantity: int | None = None,
        limit: Decimal | None = None,
        fill: Decimal | None = None,
        cost: int | None = None,
        fees: int = 0,
        venue_order_id: str | None = None,
        reason: str = "",
    ) -> Trade:
        binary = kind_of(signal.surface) == "binary"
        return Trade(
            id=derive_id("trade", signal.id), signal_id=signal.id, client_order_id=derive_id("coid", signal.id),
            status=status,
            mode=self.mode,
            surface=signal.surface, sub_strategy=signal.sub_strategy,
            venue="sim" if self.mode == "paper" else self.config.broker.kind,
            instrument=signal.instrument, side=signal.side,
            count=quantity if binary else None, units=None if binary else quantity,
            limit_price=limit, fill_price=fill, cost_cents=cost, fees=fees, opened_at=self.now(),
            stop_loss=signal.stop_loss, take_profit=signal.take_profit, eta_hours=signal.eta_hours,
            venue_order_id=venue_order_id, reason=reason,
        )

    # ------------------------------------------------------------------ outcomes
    def open_signal_ids(self) -> list[str]:
        return sorted(self.ledger.positions)

    def history_since(self) -> datetime | None:
        """The earliest day worth asking the operator's history about (the oldest open position's)."""
        opened = [p.opened_at for p in self.ledger.positions.values() if p.opened_at is not None]
        if not self.ledger.positions:
            return None
        return (min(opened) if opened else self.now()) - timedelta(days=1)

    def apply_history(self, items: Iterable[dict[str, Any]]) -> list[Outcome]:
        """Resolve open positions whose signals the operator's history reports as resolved."""
        outcomes: list[Outcome] = []
        for item in items:
            raw = item.get("signal")
            if not isinstance(raw, dict) or str(raw.get("id")) not in self.ledger.positions:
                continue
            if derive_id("trade", str(raw.get("id"))) in self.control.state.closes:
                continue  # a close of ours is in flight: the broker's answer, not the operator's, decides it
            try:
                signal = parse_record(Signal, raw)
            except ValidationError:
                continue
            if not verify_signal(signal, self.public_key):
                log.warning("history item for %s has an invalid signature; ignored", signal.id)
                continue
            outcome = self._resolve(signal, item)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _resolve(self, signal: Signal, item: dict[str, Any]) -> Outcome | None:
        position = self.ledger.positions[signal.id]
        result = str(item.get("outcome", ""))
        if result not in ("win", "loss", "void"):
            return None
        try:
            gross, exit_fees, exit_price = settle(signal, position.quantity, position.fill_price, result, item,
                                                  self.config, usd_quote_rate=self.usd_quote_rate(signal))
        except (UnsupportedInstrument, ValueError) as exc:
            log.warning("cannot value %s: %s", signal.id, exc)
            return None
        fees = position.fees_cents + exit_fees
        pnl = gross - fees
        resolved_at_raw = item.get("resolved_at")
        resolved_at = from_iso(resolved_at_raw) if isinstance(resolved_at_raw, str) else self.now()
        source = item.get("resolution_source")
        trade = self._trade_record(
            signal, "resolved", quantity=position.quantity, fill=position.fill_price, cost=position.cost_cents,
            fees=fees,
        ).model_copy(update={
            "pnl": pnl, "exit_price": exit_price, "resolved_at": resolved_at, "opened_at": position.opened_at,
            "resolution_source": source if source in ("kalshi_resolution", "nws_observation", "oanda_candles",
                                                      "ibkr_position", "sim") else None,
            "reason": result,
        })
        self._append_trade(trade)
        self._enqueue(signal.id, "resolved", _resolved_body(trade))
        return Outcome(
            signal.id, "resolved",
            f"{signal.surface} {signal.instrument} {signal.side} {result}: P&L {format_cents(pnl)}"
            f" (fees {format_cents(fees)}); equity {format_cents(self.ledger.equity_cents)}",
            {"outcome": result, "pnl_cents": pnl, "fees_cents": fees},
        )


def settle(
    signal: Signal,
    quantity: int,
    fill: Decimal,
    result: str,
    item: dict[str, Any],
    config: ClientConfig,
    *,
    usd_quote_rate: Decimal | None = None,
) -> tuple[int, int, Decimal | None]:
    """Gross P&L, exit fees and exit price of a position the operator reports as ``win``/``loss``/``void``.

    Binaries settle at $1 or $0 (no exit fee); FX and stocks close at the reported exit price (or, without one,
    at the bracket level the outcome implies) and pay the exit commission.
    """
    if kind_of(signal.surface) == "binary":
        return binary_payout_pnl(quantity, fill, result), 0, None
    exit_price = _exit_price(signal, item, result, fill)
    gross = bracket_pnl(signal.instrument, signal.surface, signal.side, quantity, fill, exit_price,
                        usd_quote_rate=usd_quote_rate)
    exit_fees = fee_cents(signal.surface, signal.instrument, exit_price, quantity, FeeTerms.of(config.broker),
                          usd_quote_rate=usd_quote_rate)
    return gross, exit_fees, exit_price


def exit_gross(signal: Signal, quantity: int, fill: Decimal, exit_price: Decimal,
               usd_quote_rate: Decimal | None) -> int:
    """Gross P&L in cents of a position closed before resolution at ``exit_price`` (binary: the side's price)."""
    if kind_of(signal.surface) == "binary":
        # centi-contracts × dollars = cents
        return int((Decimal(quantity) * (exit_price - fill)).to_integral_value(rounding=ROUND_HALF_EVEN))
    return bracket_pnl(signal.instrument, signal.surface, signal.side, quantity, fill, exit_price,
                       usd_quote_rate=usd_quote_rate)


def _exit_price(signal: Signal, item: dict[str, Any], result: str, fill: Decimal) -> Decimal:
    raw = item.get("exit_price")
    if raw is not None:
        return Decimal(str(raw))
    if result == "void":
        return fill
    level = signal.take_profit if result == "win" else signal.stop_loss
    if level is None:
        raise ValueError("no exit price and no bracket level")
    return level


def _quantity_text(surface: str, quantity: int) -> str:
    if kind_of(surface) == "binary":
        whole, part = divmod(quantity, 100)
        return f"{whole}" + (f".{part:02d}" if part else "") + " contracts"
    return f"{quantity} {'units' if surface == 'fx' else 'shares'}"


def _executed_body(trade: Trade) -> dict[str, Any]:
    quantity = trade.count if trade.count is not None else (trade.units or 0)
    return {"fill_price": format(trade.fill_price or Decimal(0), "f"), "quantity": quantity, "fees_cents": trade.fees}


def _resolved_body(trade: Trade) -> dict[str, Any]:
    return {"pnl_cents": trade.pnl or 0, "resolved_at": to_iso(trade.resolved_at or utcnow())}


def enqueue_commission(outbox: Outbox, event: MoneyEvent) -> None:
    """Report crystallized commission to the operator: the amount only, never the P&L behind it."""
    if event.type != "commission" or event.amount_cents <= 0:
        return
    outbox.enqueue(
        f"commission:{event.id}", "/api/commission",
        {"id": event.id, "amount_cents": event.amount_cents, "crystallized_at": to_iso(event.at)},
        group=f"commission:{event.id}",
    )
