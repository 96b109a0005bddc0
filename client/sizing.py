"""Local sizing: the subscriber's rule and caps decide the stake; the operator's size is only an input.

A stake too small for one unit (a $185 share from a $10 stake) buys one unit anyway when ``min_one_unit`` is on
(the default) and one unit fits under the per-signal cap, the day's remaining room and the cash; otherwise the
signal is skipped with a reason code from :data:`SKIP_REASONS`, which ``run``, ``status`` and ``replay`` count.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from client.config import SizingSection
from client.pricing import cost_cents, is_buy, kind_of, quantity_for_stake
from shared.records import Signal

# Why a signal was not traded: the code is what the counts in ``run``, ``status`` and ``replay`` use.
SKIP_REASONS: dict[str, str] = {
    "not_followed": "surface or sub-strategy not followed",
    "expired": "expired before it could be traded",
    "bad_signature": "signature invalid for the pinned key",
    "malformed": "not a valid signal",
    "broker_cannot_trade": "your broker does not trade this surface",
    "operator_paper": "operator paper (dry-run) signal; your live broker does not follow those",
    "stake_too_small": "stake too small for one unit",
    "unit_over_signal_cap": "one unit costs more than max_cents_per_signal",
    "day_cap": "max_cents_per_day reached",
    "no_cash": "not enough cash",
    "unsupported": "instrument the client cannot price (e.g. an FX cross without its USD rate)",
    "rejected": "the broker did not fill the order (e.g. price beyond the limit)",
    "paused": "trading paused (tbot-client pause)",
    "max_open_positions": "max_open_positions reached",
    "equity_stop": "equity stop tripped: flattened and paused",
}


@dataclass(frozen=True, slots=True)
class SizeDecision:
    quantity: int
    stake_cents: int
    worst_price: Decimal
    reason: str = ""
    skip: str = ""  # a SKIP_REASONS code when quantity is 0


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


def one_unit(surface: str) -> int:
    """The smallest order: one contract (100 centi-contracts), one FX unit, one share."""
    return 100 if kind_of(surface) == "binary" else 1


def size(
    rule: SizingSection,
    signal: Signal,
    *,
    equity_cents: int,
    staked_today_cents: int,
    cash_cents: int,
    usd_quote_rate: Decimal | None = None,
) -> SizeDecision:
    """Quantity to order, sized at the worst acceptable price so the cost never exceeds the stake or the cash.

    ``usd_quote_rate`` is the ``USD_<quote>`` rate an FX cross needs (``EUR_JPY`` needs ``USD_JPY``).
    """
    stake, reason = stake_for(rule, signal, equity_cents, staked_today_cents)
    if stake > cash_cents:
        stake, reason = max(0, cash_cents), "limited by cash"
    worst = worst_acceptable_price(rule, signal)
    sizing_price = worst if is_buy(signal.side) else signal.limit_price
    quantity = quantity_for_stake(signal.surface, signal.instrument, sizing_price, stake,
                                  usd_quote_rate=usd_quote_rate)
    if quantity > 0:
        return SizeDecision(quantity, stake, worst, reason)
    room = rule.max_cents_per_day - staked_today_cents
    if room <= 0:
        return SizeDecision(0, 0, worst, "capped per day", "day_cap")
    if cash_cents <= 0:
        return SizeDecision(0, 0, worst, "limited by cash", "no_cash")
    if not rule.min_one_unit:
        return SizeDecision(0, stake, worst, reason or "stake too small for one unit", "stake_too_small")
    unit = one_unit(signal.surface)
    unit_cost = cost_cents(signal.surface, signal.instrument, sizing_price, unit, usd_quote_rate=usd_quote_rate)
    if unit_cost > rule.max_cents_per_signal:
        return SizeDecision(0, 0, worst, f"one unit costs {unit_cost}c, over max_cents_per_signal",
                            "unit_over_signal_cap")
    if unit_cost > room:
        return SizeDecision(0, 0, worst, "capped per day", "day_cap")
    if unit_cost > cash_cents:
        return SizeDecision(0, 0, worst, "limited by cash", "no_cash")
    return SizeDecision(unit, unit_cost, worst, "one unit (min_one_unit)")
