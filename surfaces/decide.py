"""Decide: price a proposal after fees, size it, and put it through the surface's 10-gate risk chain.

One decision record per evaluation. A proposal that has not changed since its last decision (same side, price
and probability) is not evaluated again: the record would say nothing new, and a loop ticking every few seconds
would otherwise fill the log with copies. A proposal that moved but is denied again by the same gate for the same
reason is evaluated and counted, not written line by line: :class:`~surfaces.decision_log.DecisionWriter` folds
such a streak into one summary line (``repeats``, ``first_at``, ``last_at``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from shared.bus import JsonlLog
from shared.execution import OrderPlan
from shared.money.fees import fx_round_trip_cost_cents, ibkr_round_trip_cents, kalshi_fee_cents
from shared.money.fx import MissingRate, is_pair, quote_unit_usd, usd_rate_pair
from shared.money.ledger import Ledger
from shared.money.sizing import binary_cost_cents, kelly_count, position_cost_cents, risk_units
from shared.records import BreakerEvent, Decision, Signal, Surface
from shared.risk.candidate import Candidate
from shared.risk.chain import RiskChain
from shared.risk.gates import candidate_pricing
from shared.venues.base import Instrument, Quote, Venue, VenueError
from shared.venues.rates import usd_rate
from surfaces.decision_log import ANY, DecisionWriter
from surfaces.publish import SignalPublisher
from surfaces.strategy import Proposal

ONE = Decimal(1)
FINGERPRINT_TTL_TICKS = 1000
HUNDRED = Decimal(100)
Kind = Literal["binary", "fx", "equity"]


@dataclass(frozen=True, slots=True)
class Outcome:
    proposal: Proposal
    decision: Decision
    plan: OrderPlan | None  # set when accepted
    signal: Signal | None  # the signed signal to publish once the order fills


@dataclass(frozen=True, slots=True)
class Sized:
    quantity: int
    cost_cents: int
    fee_cents: int
    quote_to_account: Decimal = ONE


class Decider:
    """Turns proposals into decisions (and, when accepted, order plans and signals) for one surface."""

    def __init__(
        self,
        *,
        surface: Surface,
        kind: Kind,
        venue: Venue,
        chain: RiskChain,
        ledger: Ledger,
        publisher: SignalPublisher,
        decisions: JsonlLog,
        new_signal_id: Callable[[], str],
        api_spend_cents: Callable[[], int] = lambda: 0,
        fx_margin_rate: Decimal = Decimal("0.02"),
        repeat_summary_seconds: float | None = None,
    ) -> None:
        self.surface = surface
        self.kind = kind
        self.venue = venue
        self.chain = chain
        self.ledger = ledger
        self.publisher = publisher
        self.new_signal_id = new_signal_id
        self.api_spend_cents = api_spend_cents
        self.fx_margin_rate = fx_margin_rate
        self.decisions = decisions
        if repeat_summary_seconds is None:
            # LoopSettings.decision_repeat_summary_seconds (every surface's settings mix it in).
            repeat_summary_seconds = float(getattr(chain.settings, "decision_repeat_summary_seconds", 300.0))
        self.writer = DecisionWriter(decisions, summary_seconds=repeat_summary_seconds)
        # (symbol, side) -> (price, p_model, tick last seen): a proposal is re-decided only when it changes.
        self._last_seen: dict[tuple[str, str], tuple[Decimal, float, int]] = {}
        self._ticks = 0

    def sync(self) -> list[BreakerEvent]:
        """Start of a tick: STOP file, overrides, breakers and the ledger (the resolver appends resolutions).
        Returns the breaker trips and resets this appended."""
        self._ticks += 1
        if self._ticks % FINGERPRINT_TTL_TICKS == 0:
            # Markets come and go (new Kalshi tickers daily): forget proposals not seen for a long while.
            horizon = self._ticks - FINGERPRINT_TTL_TICKS
            self._last_seen = {k: v for k, v in self._last_seen.items() if v[2] >= horizon}
            self.writer.forget(lambda key: key[0] == ANY or (key[0], key[1]) in self._last_seen)
        events = self.chain.begin_tick()
        self.writer.flush_due(self.chain.wall.now())
        return events

    def close(self) -> None:
        """Write the repeat counts still pending (at shutdown)."""
        self.writer.flush()

    def after_execution(self) -> None:
        """Fold the trade states just written into the ledger before the next candidate is judged."""
        self.ledger.sync()

    def decide(self, proposal: Proposal) -> Outcome | None:
        key = (proposal.instrument.symbol, proposal.side)
        fingerprint = (proposal.price, round(proposal.p_model, 3))
        seen = self._last_seen.get(key)
        self._last_seen[key] = (*fingerprint, self._ticks)
        if seen is not None and seen[:2] == fingerprint:
            return None
        sized = self._size(proposal)
        candidate = Candidate(
            candidate_id=self.new_signal_id(),
            surface=self.surface,
            sub_strategy=proposal.sub_strategy,
            venue=self.venue.name,
            instrument=proposal.instrument.symbol,
            side=proposal.side,
            price=proposal.price,
            current_price=self._current_price(proposal),
            quantity=sized.quantity,
            cost_cents=sized.cost_cents,
            fee_cents=sized.fee_cents,
            p_model=proposal.p_model,
            p_market=proposal.p_market,
            confidence=proposal.confidence,
            model_spread=proposal.model_spread,
            models=proposal.models,
            category=proposal.instrument.category,
            underlying=proposal.instrument.underlying,
            take_profit=proposal.take_profit,
            stop_loss=proposal.stop_loss,
            quote_to_account=sized.quote_to_account,
            title=proposal.instrument.title,
        )
        # check + decision instead of evaluate: the record gets the edge after fees and the strategy's and the
        # models' context (the audit drawer shows them) before it is written, once.
        verdict = self.chain.check(candidate, api_spend_cents=self.api_spend_cents())
        # Edge in probability points after fees (what MIN_EDGE gates); the return on stake only rides along.
        pricing = candidate_pricing(candidate) if candidate.quantity > 0 else None
        edge = None if pricing is None else pricing.edge
        decision = self.chain.decision(
            verdict,
            edge=float(edge) if edge is not None else None,
            context={"sub_strategy_context": _jsonable(proposal.context),
                     "edge_roi": None if pricing is None else float(pricing.roi),
                     "opinions": _opinions(proposal),
                     **{k: v for k, v in proposal.context.items() if k in _KEPT_APART}},
        )
        self.writer.write(decision)
        if not decision.accepted:
            return Outcome(proposal, decision, None, None)
        equity = max(1, self.ledger.equity_cents)
        signal = self.publisher.build(
            candidate.candidate_id, self.surface, proposal,
            edge=float(edge) if edge is not None else 0.0,
            size_fraction=Decimal(sized.cost_cents) / Decimal(equity),
            limit_price=proposal.price,
        )
        plan = OrderPlan(
            signal_id=candidate.candidate_id,
            surface=self.surface,
            sub_strategy=proposal.sub_strategy,
            instrument=proposal.instrument.symbol,
            side=proposal.side,
            quantity=sized.quantity,
            limit_price=proposal.price,
            cost_cents=sized.cost_cents,
            category=proposal.instrument.category,
            underlying=proposal.instrument.underlying,
            stop_loss=proposal.stop_loss,
            take_profit=proposal.take_profit,
            eta_hours=proposal.eta_hours,
        )
        return Outcome(proposal, decision, plan, signal)

    # ------------------------------------------------------------------ sizing
    def _size(self, proposal: Proposal) -> Sized:
        settings = self.chain.settings
        equity = self.ledger.equity_cents
        if self.kind == "binary":
            return self._size_binary(proposal, equity)
        if proposal.stop_loss is None:
            return Sized(0, 0, 0)
        quote_to_account = self._quote_to_account(proposal.instrument, proposal.price)
        margin = self.fx_margin_rate if self.kind == "fx" else ONE
        units = risk_units(
            bankroll_cents=equity, risk_per_trade_pct=settings.risk_per_trade_pct, entry=proposal.price,
            stop_loss=proposal.stop_loss, max_position_pct=settings.max_position_pct,
            max_position_cents=settings.max_position_cents, quote_to_account=quote_to_account, margin_rate=margin,
        )
        if units <= 0:
            return Sized(0, 0, 0, quote_to_account)
        cost = position_cost_cents(units, proposal.price, quote_to_account=quote_to_account, margin_rate=margin)
        if self.kind == "fx":
            spread = Decimal(str(proposal.context.get("spread", "0")))
            bid, ask = proposal.price - spread, proposal.price
            fees = fx_round_trip_cost_cents(units, bid, ask, quote_to_account=quote_to_account,
                                            base_to_account=proposal.price * quote_to_account)
        else:
            exit_guess = proposal.take_profit or proposal.price
            fees = ibkr_round_trip_cents(units, proposal.price, exit_guess)
        return Sized(units, cost, fees, quote_to_account)

    def _size_binary(self, proposal: Proposal, equity: int) -> Sized:
        settings = self.chain.settings
        instrument = proposal.instrument
        price_cents = proposal.price * HUNDRED
        fee_type = instrument.fee_type if instrument.fee_type in ("quadratic", "quadratic_with_maker_fees") \
            else "quadratic"
        per_contract = Decimal(kalshi_fee_cents(10_000, price_cents, fee_type=fee_type,  # type: ignore[arg-type]
                                                fee_multiplier=instrument.fee_multiplier)) / Decimal(10_000)
        count = kelly_count(
            bankroll_cents=equity, p_win=proposal.p_model, price=proposal.price, fee_per_contract=per_contract,
            kelly_fraction=settings.kelly_fraction, max_position_pct=settings.max_position_pct,
            max_position_cents=settings.max_position_cents,
        )
        # Kelly buys nothing only when the edge after fees is not positive: judge one contract, so the decision
        # names the gate that really stops it (the minimum edge) instead of an empty size.
        count = count or 100
        fee = kalshi_fee_cents(count, price_cents, fee_type=fee_type,  # type: ignore[arg-type]
                               fee_multiplier=instrument.fee_multiplier)
        return Sized(count, binary_cost_cents(count, proposal.price), fee)

    def _quote_to_account(self, instrument: Instrument, price: Decimal) -> Decimal:
        """Account (USD) value of one unit of the quote currency."""
        if self.kind != "fx" or not is_pair(instrument.symbol):
            return ONE
        needed = usd_rate_pair(instrument.symbol)
        rate = usd_rate(self.venue, needed) if needed is not None else None
        try:
            return quote_unit_usd(instrument.symbol, price, usd_quote_rate=rate)
        except MissingRate:
            raise VenueError(self.venue.name, f"no {needed} rate to value {instrument.symbol} in USD") from None

    def _current_price(self, proposal: Proposal) -> Decimal:
        """The price of what would be bought, re-read now (the slippage gate compares it with the signal's)."""
        try:
            quote = self.venue.quote(proposal.instrument.symbol)
        except VenueError:
            return proposal.price
        return side_price_now(proposal.side, quote) or proposal.price


def side_price_now(side: str, quote: Quote) -> Decimal | None:
    if side in ("yes", "long"):
        return quote.ask
    if side == "no":
        return None if quote.bid is None else ONE - quote.bid
    return quote.bid


_KEPT_APART = ("model_answers", "ensemble")


def _opinions(proposal: Proposal) -> str:
    """What the probability stands on, for the decision record: the strategy's own label (an ensemble-backed one
    says e.g. "strategy + 2 models" or "single model"), else "strategy only" when there is no spread to report
    (a strategy that measures one across its own sources, such as bookmakers, says so)."""
    label = proposal.context.get("opinions")
    if isinstance(label, str):
        return label
    return "strategy only" if proposal.model_spread is None else "strategy, spread across its own sources"


def _jsonable(context: dict[str, Any]) -> dict[str, Any]:
    """Strategy features as plain JSON (Decimals as strings), minus what is kept under its own key."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in context.items()
            if k not in _KEPT_APART and k != "opinions"}
