"""Keep the market's prices out of what the models see, so their forecasts stay independent of the price.

A model shown the bid and ask anchors on them: it agrees with the market and with the other models, which empties
both the edge and the disagreement signal (``model_spread``). So no model input may carry a market price: no
bid, ask, last, mid, close, quote or price, no market probability (``p_market``), and no feature derived mostly
from the market's price (its own trend or momentum in price terms, a moving average, the spread).

What a model may see: the question (title, rules), the category, times (``close_time``, hours to resolution) and
research that does not come from this market's price. :func:`blind_context` removes every key whose name says it
is price-like, at any depth, and returns what it removed; ``MarketQuestion`` applies it to every context it is
given (and logs a warning naming the keys), so neither the prompt nor the cache key ever holds one.

A key is price-like when one of its words (split on ``_``, ``-``, ``.``, spaces and camelCase) is a price word
below; a bar word (close, open, high, low, last) counts unless the key also has a time word (``close_time``,
``hours_to_close``: when the market closes, not where it trades).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PRICE_WORDS = frozenset({
    "ask", "asks", "bid", "bids", "ema", "implied", "mid", "mids", "momentum", "odds", "ohlc", "ohlcv", "price",
    "prices", "quote", "quotes", "roc", "sma", "spread", "trend", "twap", "vwap",
})
"""Words that make a key price-like: quotes, market-implied probabilities and what is computed from them."""

BAR_WORDS = frozenset({"close", "closes", "high", "highs", "last", "low", "lows", "open", "opens"})
"""Price words that also name times (``close_time``, ``hours_to_close``): price-like only without a time word."""

MARKET_PROBABILITY_KEYS = frozenset({"p_market", "pmarket", "market_p", "market_prob", "market_probability"})
"""Whole keys that name the market's own probability."""

TIME_WORDS = frozenset({"at", "date", "day", "days", "hours", "minutes", "seconds", "time", "ts", "timestamp"})
"""Words that make a key a time or a duration (``close_time``, ``days_to_close``) rather than a bar's price."""

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def _words(key: str) -> list[str]:
    return [word.lower() for part in re.split(r"[_\-.\s]+", key) for word in _WORD.findall(part)]


def is_price_key(key: str) -> bool:
    """True if ``key`` names a market price or something derived mostly from one (see the module docstring)."""
    if key.lower() in MARKET_PROBABILITY_KEYS:
        return True
    words = set(_words(key))
    if words & PRICE_WORDS:
        return True
    return bool(words & BAR_WORDS) and not words & TIME_WORDS


def blind_context(context: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``context`` without its price-like keys (nested mappings and lists of mappings included), and the dotted
    paths of the keys it removed, in order."""
    removed: list[str] = []
    clean = _blind(context, "", removed)
    return clean, tuple(removed)


def _blind(mapping: Mapping[str, Any], prefix: str, removed: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        if is_price_key(str(key)):
            removed.append(path)
            continue
        out[key] = _blind_value(value, path, removed)
    return out


def _blind_value(value: Any, path: str, removed: list[str]) -> Any:
    if isinstance(value, Mapping):
        return _blind(value, f"{path}.", removed)
    if isinstance(value, list | tuple):
        return [_blind_value(item, f"{path}[{i}]", removed) for i, item in enumerate(value)]
    return value
