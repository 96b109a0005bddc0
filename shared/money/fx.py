"""FX pairs and their conversion to the account currency (USD): the one home for both. Decimal only.

A pair is ``BASE_QUOTE`` (OANDA's spelling; ``EUR/USD`` is accepted too). Its price is quote currency per unit of
base, so a P&L or a notional computed from prices is in the quote currency. Converting it to USD needs:
- nothing for ``XXX_USD`` (the quote currency is USD);
- the pair's own price for ``USD_XXX`` (one quote unit is ``1 / price`` dollars);
- for a cross such as ``EUR_JPY``, the ``USD_<quote>`` rate (``USD_JPY``), which the caller reads from its venue:
  :func:`usd_rate_pair` names it, and every conversion takes it as ``usd_quote_rate``.
Nothing here reads a venue or a clock: which rate applies (the exit price, the mid now, a candle close) is the
caller's decision, so the same numbers give the same dollars wherever they are converted.
"""

from __future__ import annotations

from decimal import Decimal

ACCOUNT_CURRENCY = "USD"
_ONE = Decimal(1)


class NotAPair(ValueError):
    """A symbol that is not ``BASE_QUOTE`` with two three-letter currency codes."""


class MissingRate(ValueError):
    """A cross needs the ``USD_<quote>`` rate to convert, and none (or a non-positive one) was given."""


def split_pair(pair: str) -> tuple[str, str]:
    """``"EUR_USD"`` (or ``"eur/usd"``) → ``("EUR", "USD")``; :class:`NotAPair` for anything else."""
    parts = pair.replace("/", "_").upper().split("_")
    if len(parts) != 2 or not all(len(p) == 3 and p.isalpha() for p in parts):
        raise NotAPair(f"not an FX pair: {pair!r}")
    return parts[0], parts[1]


def is_pair(symbol: str) -> bool:
    """True for an FX pair (``EUR_USD``), False for anything else (a stock symbol, a Kalshi ticker)."""
    try:
        split_pair(symbol)
    except NotAPair:
        return False
    return True


def usd_rate_pair(pair: str) -> str | None:
    """The pair whose rate a conversion of ``pair``'s quote currency needs beyond its own price (crosses only).

    ``EUR_JPY`` → ``"USD_JPY"``; ``EUR_USD`` and ``USD_JPY`` → None (their own price is enough).
    """
    base, quote = split_pair(pair)
    if ACCOUNT_CURRENCY in (base, quote):
        return None
    return f"{ACCOUNT_CURRENCY}_{quote}"


def _check_positive(value: Decimal, what: str) -> None:
    if not value > 0:
        raise ValueError(f"{what} must be positive: {value}")


def _cross_rate(pair: str, usd_quote_rate: Decimal | None) -> Decimal:
    if usd_quote_rate is None or not usd_quote_rate > 0:
        raise MissingRate(f"{pair}: converting to {ACCOUNT_CURRENCY} needs the {usd_rate_pair(pair)} rate")
    return usd_quote_rate


def quote_to_usd(amount: Decimal, pair: str, price: Decimal, *, usd_quote_rate: Decimal | None = None) -> Decimal:
    """``amount`` of ``pair``'s quote currency in USD, exact where the rates allow (a division, never a float).

    ``price`` is the pair's rate to convert at (e.g. the exit price); ``usd_quote_rate`` the ``USD_<quote>`` rate,
    needed only for a cross.
    """
    base, quote = split_pair(pair)
    if quote == ACCOUNT_CURRENCY:
        return amount
    if base == ACCOUNT_CURRENCY:
        _check_positive(price, f"{pair} price")
        return amount / price
    return amount / _cross_rate(pair, usd_quote_rate)


def quote_unit_usd(pair: str, price: Decimal, *, usd_quote_rate: Decimal | None = None) -> Decimal:
    """USD value of one unit of ``pair``'s quote currency (1 for ``XXX_USD``)."""
    return quote_to_usd(_ONE, pair, price, usd_quote_rate=usd_quote_rate)


def base_unit_usd(pair: str, price: Decimal, *, usd_quote_rate: Decimal | None = None) -> Decimal:
    """USD value of one unit of ``pair``'s base currency: 1 for ``USD_XXX``, the price for ``XXX_USD``.

    This is the notional of one unit, what a per-million commission and a stake are measured in.
    """
    base, quote = split_pair(pair)
    if base == ACCOUNT_CURRENCY:
        return _ONE
    _check_positive(price, f"{pair} price")
    if quote == ACCOUNT_CURRENCY:
        return price
    return price / _cross_rate(pair, usd_quote_rate)
