"""Kalshi wire models (spec 3.15.0) and their conversion into the venue dataclasses of shared/venues/base.py.

Prices arrive as fixed-point dollar strings (``*_dollars``, up to 6 decimals) and counts as fixed-point contract
strings (``*_fp``, up to 2 decimals). Both are parsed exactly: dollars into ``Decimal``, counts into integer
centi-contracts. Anything else (a float, a malformed string, a third decimal on a count) is a
:class:`MalformedResponseError`, never a rounded guess.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict

from shared.http import MalformedResponseError, parse_wire
from shared.venues.base import (
    Balance,
    BookLevel,
    Candle,
    Fill,
    Instrument,
    MarketStatus,
    OrderBook,
    OrderResult,
    OrderStatus,
    Position,
    Quote,
    Settlement,
)

VENUE = "kalshi"
_DOLLARS = re.compile(r"^-?\d+(\.\d{1,6})?$")
_FP = re.compile(r"^-?\d+(\.\d{1,2})?$")
ONE = Decimal(1)


def parse_dollars(value: object) -> Decimal:
    """``"0.5600"`` -> ``Decimal("0.5600")``; ValueError for anything but a fixed-point dollar string."""
    if not isinstance(value, str) or not _DOLLARS.match(value):
        raise ValueError(f"not a fixed-point dollar string: {value!r}")
    return Decimal(value)


def parse_fp(value: object) -> int:
    """``"10.00"`` -> 1000 centi-contracts; ValueError for anything but a fixed-point count string."""
    if not isinstance(value, str) or not _FP.match(value):
        raise ValueError(f"not a fixed-point count string: {value!r}")
    return int(Decimal(value) * 100)


def format_fp(centi: int) -> str:
    """1050 centi-contracts -> ``"10.50"`` (the request form of a count)."""
    if centi <= 0:
        raise ValueError("order quantity must be positive")
    return f"{Decimal(centi) / 100:.2f}"


def format_dollars(price: Decimal) -> str:
    """A price in (0, 1) dollars as a 4-decimal fixed-point string; ValueError outside (0, 1) or sub-0.0001."""
    if not Decimal(0) < price < ONE:
        raise ValueError(f"price {price} is outside (0, 1) dollars")
    text = f"{price:.4f}"
    if Decimal(text) != price:
        raise ValueError(f"price {price} has more precision than 0.0001")
    return text


def dollars_to_cents_up(amount: Decimal) -> int:
    """Dollars to whole cents, rounding up (fees: never under-count a cost)."""
    return int((amount * 100).to_integral_value(rounding=ROUND_CEILING))


Dollars = Annotated[Decimal, BeforeValidator(parse_dollars)]
Count = Annotated[int, BeforeValidator(parse_fp)]


def _none_to_empty(value: Any) -> Any:
    return [] if value is None else value


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class WireMarket(_Wire):
    ticker: str
    event_ticker: str
    title: str = ""
    yes_sub_title: str = ""
    status: str
    open_time: datetime | None = None
    close_time: datetime | None = None
    yes_bid_dollars: Dollars
    yes_ask_dollars: Dollars
    yes_bid_size_fp: Count | None = None
    yes_ask_size_fp: Count | None = None
    last_price_dollars: Dollars | None = None
    result: str = ""
    strike_type: str | None = None
    floor_strike: Decimal | None = None
    cap_strike: Decimal | None = None
    price_level_structure: str = ""
    settlement_value_dollars: Dollars | None = None


class WireMarketsPage(_Wire):
    markets: list[WireMarket]
    cursor: str = ""


class WireSeries(_Wire):
    ticker: str
    title: str = ""
    category: str = ""
    fee_type: Literal["quadratic", "quadratic_with_maker_fees", "flat"]
    fee_multiplier: Decimal


class WireEvent(_Wire):
    event_ticker: str
    series_ticker: str
    title: str = ""
    category: str = ""


class WireEventsPage(_Wire):
    events: list[WireEvent]
    cursor: str = ""


class WireBook(_Wire):
    yes_dollars: Annotated[list[tuple[Dollars, Count]], BeforeValidator(_none_to_empty)]
    no_dollars: Annotated[list[tuple[Dollars, Count]], BeforeValidator(_none_to_empty)]


class WireOrderbookResponse(_Wire):
    orderbook_fp: WireBook


class WireOrder(_Wire):
    order_id: str
    client_order_id: str = ""
    ticker: str
    side: Literal["yes", "no"]
    action: Literal["buy", "sell"]
    status: Literal["resting", "canceled", "executed"]
    yes_price_dollars: Dollars
    no_price_dollars: Dollars
    fill_count_fp: Count
    remaining_count_fp: Count
    initial_count_fp: Count
    taker_fees_dollars: Dollars
    maker_fees_dollars: Dollars
    taker_fill_cost_dollars: Dollars
    maker_fill_cost_dollars: Dollars
    created_time: datetime | None = None
    last_update_time: datetime | None = None


class WireOrderResponse(_Wire):
    order: WireOrder


class WireOrdersPage(_Wire):
    orders: list[WireOrder]
    cursor: str = ""


class WireOrderV2Response(_Wire):
    order_id: str
    client_order_id: str = ""
    fill_count: Count
    remaining_count: Count
    average_fill_price: Dollars | None = None
    average_fee_paid: Dollars | None = None


class WireFill(_Wire):
    fill_id: str
    order_id: str
    ticker: str
    side: Literal["yes", "no"]
    action: Literal["buy", "sell"]
    count_fp: Count
    yes_price_dollars: Dollars
    no_price_dollars: Dollars
    is_taker: bool
    fee_cost: Dollars
    created_time: datetime


class WireFillsPage(_Wire):
    fills: list[WireFill]
    cursor: str = ""


class WireSettlement(_Wire):
    ticker: str
    event_ticker: str
    market_result: Literal["yes", "no", "scalar", "void"]
    yes_count_fp: Count
    no_count_fp: Count
    revenue: int
    settled_time: datetime
    fee_cost: Dollars
    value: int | None = None


class WireSettlementsPage(_Wire):
    settlements: list[WireSettlement]
    cursor: str = ""


class WirePosition(_Wire):
    ticker: str
    position_fp: Count
    market_exposure_dollars: Dollars
    realized_pnl_dollars: Dollars
    fees_paid_dollars: Dollars


class WirePositionsPage(_Wire):
    market_positions: list[WirePosition]
    cursor: str = ""


class WireBalance(_Wire):
    balance: int
    portfolio_value: int


class WireOhlc(_Wire):
    open_dollars: Dollars | None = None
    high_dollars: Dollars | None = None
    low_dollars: Dollars | None = None
    close_dollars: Dollars | None = None


class WireCandle(_Wire):
    end_period_ts: int
    yes_bid: WireOhlc
    yes_ask: WireOhlc
    price: WireOhlc
    volume_fp: Count


class WireCandles(_Wire):
    ticker: str
    candlesticks: list[WireCandle]


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, what: str) -> M:
    """Validate a decoded body into a wire model; MalformedResponseError naming the first bad field."""
    return parse_wire(model, data, what, VENUE)


# ---- conversion into our dataclasses ---------------------------------------------------------------------------

_STATUS: dict[str, MarketStatus] = {
    "initialized": "unopened",
    "inactive": "closed",  # paused/deactivated: not tradable right now
    "active": "open",
    "closed": "closed",
    "disputed": "closed",
    "determined": "settled",
    "amended": "settled",
    "finalized": "settled",
}

_CATEGORIES = {
    "climate and weather": "weather",
    "weather": "weather",
    "crypto": "crypto",
    "sports": "sports",
    "politics": "politics",
    "elections": "politics",
    "economics": "macro",
    "financials": "macro",
    "companies": "macro",
}


def category_of(series_category: str) -> str:
    """Map Kalshi's series category onto ours (weather, crypto, sports, politics, macro)."""
    return _CATEGORIES.get(series_category.strip().lower(), series_category.strip().lower() or "other")


def tick_size(price_level_structure: str) -> Decimal:
    """The smallest price step (``tapered_deci_cent`` is 0.001 at the tails; 0.01 is the conservative step)."""
    return Decimal("0.001") if price_level_structure == "deci_cent" else Decimal("0.01")


def to_instrument(market: WireMarket, series: WireSeries | None) -> Instrument:
    """A market (plus its series' fee schedule and category) as an Instrument."""
    result: Literal["yes", "no", "void"] | None = None
    if market.result in ("yes", "no"):
        result = market.result  # type: ignore[assignment]
    status = _STATUS.get(market.status)
    if status is None:
        raise MalformedResponseError(VENUE, f"market {market.ticker}: unknown status {market.status!r}")
    attributes = {"event_ticker": market.event_ticker, "kalshi_status": market.status}
    if series is not None:
        attributes["series"] = series.ticker
    return Instrument(
        venue=VENUE,
        symbol=market.ticker,
        kind="binary",
        title=market.title or market.yes_sub_title or market.ticker,
        category=category_of(series.category) if series else "other",
        underlying=market.event_ticker,
        status=status,
        open_time=market.open_time,
        close_time=market.close_time,
        strike_type=market.strike_type,
        floor_strike=market.floor_strike,
        cap_strike=market.cap_strike,
        result=result,
        fee_type=series.fee_type if series else "quadratic",
        fee_multiplier=series.fee_multiplier if series else Decimal(1),
        tick_size=tick_size(market.price_level_structure),
        attributes=attributes,
    )


def to_quote(market: WireMarket, at: datetime) -> Quote:
    """Top of book from the market object: a zero bid or a 1.00 ask means that side is empty."""
    bid = market.yes_bid_dollars if market.yes_bid_dollars > 0 else None
    ask = market.yes_ask_dollars if market.yes_ask_dollars < ONE else None
    return Quote(
        symbol=market.ticker,
        at=at,
        bid=bid,
        ask=ask,
        bid_size=market.yes_bid_size_fp if bid is not None else None,
        ask_size=market.yes_ask_size_fp if ask is not None else None,
        last=market.last_price_dollars if market.last_price_dollars else None,
    )


def to_orderbook(symbol: str, book: WireBook, at: datetime, depth: int) -> OrderBook:
    """Kalshi returns bids only: YES asks are 1 − NO bids. Both sides come back best first."""
    bids = sorted(book.yes_dollars, key=lambda level: level[0], reverse=True)[:depth]
    no_bids = sorted(book.no_dollars, key=lambda level: level[0], reverse=True)[:depth]
    return OrderBook(
        symbol=symbol,
        at=at,
        bids=tuple(BookLevel(price, size) for price, size in bids),
        asks=tuple(BookLevel(ONE - price, size) for price, size in no_bids),
    )


def order_status(filled: int, remaining: int, kalshi_status: str) -> OrderStatus:
    """Our order status from fill counts and Kalshi's resting/canceled/executed."""
    if kalshi_status == "executed" or (remaining == 0 and filled > 0 and kalshi_status != "canceled"):
        return "filled"
    if filled > 0:
        return "partially_filled"
    return "resting" if kalshi_status == "resting" else "cancelled"


def order_to_result(order: WireOrder, at: datetime) -> OrderResult:
    """A V1 order object as an OrderResult; the average price is of the side the order bought or sold."""
    filled = order.fill_count_fp
    cost = order.taker_fill_cost_dollars + order.maker_fill_cost_dollars
    avg = (cost * 100 / filled).quantize(Decimal("0.0001")) if filled else None
    return OrderResult(
        client_order_id=order.client_order_id,
        venue_order_id=order.order_id,
        status=order_status(filled, order.remaining_count_fp, order.status),
        filled_quantity=filled,
        avg_fill_price=avg,
        fees_cents=dollars_to_cents_up(order.taker_fees_dollars + order.maker_fees_dollars),
        at=order.last_update_time or order.created_time or at,
    )


def v2_to_result(
    response: WireOrderV2Response, client_order_id: str, side: Literal["yes", "no"], resting_allowed: bool, at: datetime
) -> OrderResult:
    """A V2 create-order response (YES-book prices) as an OrderResult priced on the side we traded."""
    filled = response.fill_count
    avg: Decimal | None = None
    if filled and response.average_fill_price is not None:
        avg = response.average_fill_price if side == "yes" else ONE - response.average_fill_price
    fees = dollars_to_cents_up(response.average_fee_paid * filled / 100) if response.average_fee_paid else 0
    remaining = response.remaining_count
    status: OrderStatus
    if remaining == 0 and filled > 0:
        status = "filled"
    elif filled > 0:
        status = "partially_filled"
    else:
        status = "resting" if remaining > 0 and resting_allowed else "cancelled"
    return OrderResult(
        client_order_id=response.client_order_id or client_order_id,
        venue_order_id=response.order_id,
        status=status,
        filled_quantity=filled,
        avg_fill_price=avg,
        fees_cents=fees,
        at=at,
    )


def to_fill(fill: WireFill) -> Fill:
    """A portfolio fill; the price is that of the side traded."""
    return Fill(
        venue_order_id=fill.order_id,
        client_order_id=None,
        symbol=fill.ticker,
        side=fill.side,
        # Kalshi buys a side to open it and sells it to close: its ``action`` is our intent on that side.
        intent="open" if fill.action == "buy" else "close",
        quantity=fill.count_fp,
        price=fill.yes_price_dollars if fill.side == "yes" else fill.no_price_dollars,
        fees_cents=dollars_to_cents_up(fill.fee_cost),
        at=fill.created_time,
    )


def to_settlement(settlement: WireSettlement) -> Settlement:
    """A portfolio settlement; a scalar result maps to yes/no only at the binary extremes."""
    result: Literal["yes", "no", "void"]
    if settlement.market_result == "scalar":
        if settlement.value == 100:
            result = "yes"
        elif settlement.value == 0:
            result = "no"
        else:
            raise MalformedResponseError(VENUE, f"settlement {settlement.ticker}: scalar value {settlement.value}")
    else:
        result = settlement.market_result
    return Settlement(
        symbol=settlement.ticker,
        result=result,
        settled_at=settlement.settled_time,
        revenue_cents=settlement.revenue,
        fees_cents=dollars_to_cents_up(settlement.fee_cost),
    )


def to_position(position: WirePosition) -> Position | None:
    """A market position (negative count = NO contracts); None when flat."""
    if position.position_fp == 0:
        return None
    quantity = abs(position.position_fp)
    avg = (position.market_exposure_dollars * 100 / quantity).quantize(Decimal("0.0001"))
    return Position(
        symbol=position.ticker,
        side="yes" if position.position_fp > 0 else "no",
        quantity=quantity,
        avg_price=avg,
    )


def to_balance(balance: WireBalance) -> Balance:
    """Balance and portfolio value are integer cents on the wire already."""
    return Balance(cash_cents=balance.balance, portfolio_value_cents=balance.portfolio_value)


def to_candle(symbol: str, candle: WireCandle, granularity_s: int) -> Candle | None:
    """A candlestick on traded YES prices, falling back to the bid/ask midpoint when nothing traded."""
    ohlc: tuple[Decimal | None, ...] = (
        candle.price.open_dollars,
        candle.price.high_dollars,
        candle.price.low_dollars,
        candle.price.close_dollars,
    )
    if any(value is None for value in ohlc):
        bid, ask = candle.yes_bid, candle.yes_ask
        pairs = [
            (bid.open_dollars, ask.open_dollars),
            (bid.high_dollars, ask.high_dollars),
            (bid.low_dollars, ask.low_dollars),
            (bid.close_dollars, ask.close_dollars),
        ]
        if any(b is None or a is None for b, a in pairs):
            return None
        ohlc = tuple((b + a) / 2 for b, a in pairs)  # type: ignore[operator]
    open_, high, low, close = (value for value in ohlc if value is not None)
    end = datetime.fromtimestamp(candle.end_period_ts, tz=UTC)
    return Candle(
        symbol=symbol,
        start=end - timedelta(seconds=granularity_s),
        granularity_s=granularity_s,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=candle.volume_fp,
    )
