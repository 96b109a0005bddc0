"""OANDA v20 wire models (spec 3.0.25) and their conversion into the venue dataclasses.

Prices and units are JSON strings on the wire; they are parsed exactly into ``Decimal`` / ``int``. Account money
(balance, commission, P/L) is a decimal string in the account currency, converted to integer cents.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict

from shared.http import MalformedResponseError, parse_wire
from shared.venues.base import BookLevel, Candle, OrderBook, OrderResult, Position, Quote

VENUE = "oanda"
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")

GRANULARITIES: dict[int, str] = {
    5: "S5", 10: "S10", 15: "S15", 30: "S30", 60: "M1", 120: "M2", 240: "M4", 300: "M5", 600: "M10",
    900: "M15", 1800: "M30", 3600: "H1", 7200: "H2", 10800: "H3", 14400: "H4", 21600: "H6", 28800: "H8",
    43200: "H12", 86400: "D",
}  # fmt: skip


def parse_decimal(value: object) -> Decimal:
    """A v20 decimal string (``"1.10525"``, ``"-1000"``) exactly; ValueError for anything else."""
    if not isinstance(value, str) or not _DECIMAL.match(value):
        raise ValueError(f"not a decimal string: {value!r}")
    return Decimal(value)


def parse_units(value: object) -> int:
    """Units as a signed integer; fractional units are malformed for FX."""
    amount = parse_decimal(value)
    if amount != amount.to_integral_value():
        raise ValueError(f"fractional units: {value!r}")
    return int(amount)


def to_cents(amount: Decimal) -> int:
    """Account-currency money to cents (banker's rounding for balances)."""
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_EVEN))


def cost_cents(amount: Decimal) -> int:
    """A cost (commission, fee) to cents, rounding up; OANDA reports costs as negative or positive numbers."""
    return int((abs(amount) * 100).to_integral_value(rounding=ROUND_CEILING))


def format_price(price: Decimal, tick: Decimal) -> str:
    """A price at the instrument's precision (OANDA rejects excess precision)."""
    return str(price.quantize(tick, rounding=ROUND_HALF_EVEN))


Dec = Annotated[Decimal, BeforeValidator(parse_decimal)]
Units = Annotated[int, BeforeValidator(parse_units)]


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class WireBucket(_Wire):
    price: Dec
    liquidity: int = 0


class WirePrice(_Wire):
    instrument: str
    time: datetime
    tradeable: bool = True
    bids: list[WireBucket] = []
    asks: list[WireBucket] = []


class WirePricing(_Wire):
    prices: list[WirePrice]


class WireOhlc(_Wire):
    o: Dec
    h: Dec
    l: Dec  # noqa: E741 - the wire name
    c: Dec


class WireCandle(_Wire):
    time: datetime
    volume: int = 0
    complete: bool
    mid: WireOhlc | None = None
    bid: WireOhlc | None = None
    ask: WireOhlc | None = None


class WireCandles(_Wire):
    instrument: str
    granularity: str
    candles: list[WireCandle]


class WireExtensions(_Wire):
    id: str | None = None
    tag: str | None = None
    comment: str | None = None


class WireTradeOpen(_Wire):
    tradeID: str
    units: Units
    price: Dec | None = None


class WireFillTx(_Wire):
    id: str
    time: datetime
    type: Literal["ORDER_FILL"]
    orderID: str
    clientOrderID: str | None = None
    instrument: str
    units: Units
    price: Dec | None = None
    commission: Dec = Decimal(0)
    guaranteedExecutionFee: Dec = Decimal(0)
    pl: Dec = Decimal(0)
    tradeOpened: WireTradeOpen | None = None
    tradesClosed: list[dict[str, Any]] = []
    tradeReduced: dict[str, Any] | None = None
    halfSpreadCost: Dec = Decimal(0)

    @property
    def closes(self) -> bool:
        """True when the fill closed or reduced trades rather than opening one."""
        return self.tradeOpened is None and (bool(self.tradesClosed) or self.tradeReduced is not None)

    @property
    def trade_id(self) -> str | None:
        """The trade this fill opened, else the (first) trade it closed or reduced: our position id."""
        if self.tradeOpened is not None:
            return self.tradeOpened.tradeID
        closed = self.tradesClosed[0] if self.tradesClosed else self.tradeReduced
        return None if closed is None or closed.get("tradeID") is None else str(closed["tradeID"])


class WireCancelTx(_Wire):
    id: str
    time: datetime
    orderID: str
    reason: str = ""


class WireCreateTx(_Wire):
    id: str
    time: datetime | None = None
    type: str


class WireOrderResponse(_Wire):
    orderCreateTransaction: WireCreateTx | None = None
    orderFillTransaction: WireFillTx | None = None
    orderCancelTransaction: WireCancelTx | None = None


class WireOrder(_Wire):
    id: str
    createTime: datetime
    state: Literal["PENDING", "FILLED", "TRIGGERED", "CANCELLED"]
    type: str
    instrument: str | None = None
    units: Units | None = None
    clientExtensions: WireExtensions | None = None
    fillingTransactionID: str | None = None
    filledTime: datetime | None = None
    tradeOpenedID: str | None = None
    cancellingTransactionID: str | None = None
    cancelledTime: datetime | None = None


class WireOrderEnvelope(_Wire):
    order: WireOrder


class WireDependentOrder(_Wire):
    id: str
    price: Dec | None = None


class WireTrade(_Wire):
    id: str
    instrument: str
    price: Dec
    openTime: datetime
    state: Literal["OPEN", "CLOSED", "CLOSE_WHEN_TRADEABLE"]
    initialUnits: Units
    currentUnits: Units
    averageClosePrice: Dec | None = None
    closeTime: datetime | None = None
    clientExtensions: WireExtensions | None = None
    takeProfitOrder: WireDependentOrder | None = None
    stopLossOrder: WireDependentOrder | None = None


class WireTrades(_Wire):
    trades: list[WireTrade]


class WireTradeEnvelope(_Wire):
    trade: WireTrade


class WireAccountSummary(_Wire):
    id: str
    currency: str
    balance: Dec
    NAV: Dec | None = None


class WireSummaryEnvelope(_Wire):
    account: WireAccountSummary


class WireTransactionPages(_Wire):
    pages: list[str] = []


class WireTransactions(_Wire):
    transactions: list[dict[str, Any]]


class WireTransactionEnvelope(_Wire):
    transaction: dict[str, Any]


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, what: str) -> M:
    """Validate a decoded body into a wire model; MalformedResponseError naming the first bad field."""
    return parse_wire(model, data, what, VENUE)


def reject_reason(body: Any) -> str:
    """The rejectReason of an orderRejectTransaction, or the errorCode/errorMessage of a 400."""
    if isinstance(body, dict):
        reject = body.get("orderRejectTransaction")
        if isinstance(reject, dict) and reject.get("rejectReason"):
            return str(reject["rejectReason"])
        for key in ("errorCode", "errorMessage"):
            if body.get(key):
                return str(body[key])
    return "UNKNOWN_REJECT"


# ---- conversion into our dataclasses ---------------------------------------------------------------------------


def to_quote(price: WirePrice) -> Quote:
    """Top of book from a ClientPrice (either side may be empty when the market is closed)."""
    bid = price.bids[0] if price.bids else None
    ask = price.asks[0] if price.asks else None
    return Quote(
        symbol=price.instrument,
        at=price.time,
        bid=bid.price if bid else None,
        ask=ask.price if ask else None,
        bid_size=bid.liquidity if bid else None,
        ask_size=ask.liquidity if ask else None,
    )


def to_orderbook(price: WirePrice, depth: int) -> OrderBook:
    """The price buckets of a ClientPrice as a shallow book, best first."""
    bids = sorted(price.bids, key=lambda bucket: bucket.price, reverse=True)[:depth]
    asks = sorted(price.asks, key=lambda bucket: bucket.price)[:depth]
    return OrderBook(
        symbol=price.instrument,
        at=price.time,
        bids=tuple(BookLevel(b.price, b.liquidity) for b in bids),
        asks=tuple(BookLevel(a.price, a.liquidity) for a in asks),
    )


def to_candle(symbol: str, candle: WireCandle, granularity_s: int, component: Literal["mid", "bid", "ask"]) -> Candle:
    """One candlestick's chosen price component (the one requested)."""
    ohlc = getattr(candle, component)
    if ohlc is None:
        raise MalformedResponseError(VENUE, f"candle at {candle.time} has no {component} prices")
    return Candle(
        symbol=symbol,
        start=candle.time,
        granularity_s=granularity_s,
        open=ohlc.o,
        high=ohlc.h,
        low=ohlc.l,
        close=ohlc.c,
        volume=candle.volume,
        complete=candle.complete,
    )


def fill_result(client_order_id: str, fill: WireFillTx) -> OrderResult:
    """A filled MARKET order from its ORDER_FILL transaction."""
    return OrderResult(
        client_order_id=client_order_id,
        venue_order_id=fill.orderID,
        status="filled",
        filled_quantity=abs(fill.units),
        avg_fill_price=fill.price if fill.price is not None else (fill.tradeOpened.price if fill.tradeOpened else None),
        fees_cents=cost_cents(fill.commission) + cost_cents(fill.guaranteedExecutionFee),
        at=fill.time,
    )


def cancel_result(client_order_id: str, order_id: str, cancel: WireCancelTx) -> OrderResult:
    """A MARKET order OANDA cancelled (FOK not filled, market halted, price bound breached ...)."""
    return OrderResult(
        client_order_id=client_order_id,
        venue_order_id=order_id,
        status="cancelled",
        filled_quantity=0,
        avg_fill_price=None,
        fees_cents=0,
        at=cancel.time,
        reason=cancel.reason,
    )


def to_position(trade: WireTrade) -> Position:
    """An open trade as a position (the sign of currentUnits is the direction)."""
    return Position(
        symbol=trade.instrument,
        side="long" if trade.currentUnits > 0 else "short",
        quantity=abs(trade.currentUnits),
        avg_price=trade.price,
        client_order_id=trade.clientExtensions.id if trade.clientExtensions else None,
        venue_position_id=trade.id,
        stop_loss=trade.stopLossOrder.price if trade.stopLossOrder else None,
        take_profit=trade.takeProfitOrder.price if trade.takeProfitOrder else None,
    )
