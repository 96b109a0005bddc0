"""Local sizing: the subscriber's rule and caps decide the stake; the operator's size is only an input."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from client.config import SizingSection
from client.pricing import is_buy, kind_of, quantity_for_stake
from shared.records import Signal


@dataclass(frozen=True, slots=True)
class SizeDecision:
    quantity: int
    stake_cents: int
    worst_price: Decimal
    reason: str = ""


def stake_for(rule: SizingSection, signal: Signal, equity_cents: int, staked_today_cents: int) -> tuple[int, str]:
    """The stake in cents for a signal under the subscriber's rule, after the per-signal and per-day caps."""
    if rule.rule == "fixed":
        wanted = Decimal(rule.fixed_cents)
    elif rule.rule == "bankroll_fraction":
        wanted = rule.bankroll_fraction * max(0, equity_cents)
    else:
        wanted = rule.operator_multiple * signal.size_fraction * max(0, equity_cents)
    stake = int(wanted.to_integral_value(rounding=ROUND_FLOOR))
    reason = ""
    if stake > rule.max_cents_per_signal:
        stake, reason = rule.max_cents_per_signal, "capped per signal"
    room = rule.max_cents_per_day - staked_today_cents
    if stake > room:
        stake, reason = max(0, room), "capped per day"
    return stake, reason


def worst_acceptable_price(rule: SizingSection, signal: Signal) -> Decimal:
    """The limit the order carries: the signal's price moved against us by at most the allowed slippage."""
    price = signal.limit_price
    if kind_of(signal.surface) == "binary":
        return min(Decimal("0.99"), price + rule.max_slippage_binary)
    move = price * rule.max_slippage_fraction
    return price + move if is_buy(signal.side) else price - move


def size(
    rule: SizingSection, signal: Signal, *, equity_cents: int, staked_today_cents: int, cash_cents: int
) -> SizeDecision:
    """Quantity to order, sized at the worst acceptable price so the cost never exceeds the stake or the cash."""
    stake, reason = stake_for(rule, signal, equity_cents, staked_today_cents)
    if stake > cash_cents:
        stake, reason = max(0, cash_cents), "limited by cash"
    worst = worst_acceptable_price(rule, signal)
    sizing_price = worst if is_buy(signal.side) else signal.limit_price
    quantity = quantity_for_stake(signal.surface, signal.instrument, sizing_price, stake)
    if quantity == 0 and not reason:
        reason = "stake too small for one unit"
    return SizeDecision(quantity, stake, worst, reason)
