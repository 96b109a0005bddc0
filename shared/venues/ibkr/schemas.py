"""IBKR Client Portal wire models (spec 2.29.0) and their conversion into the venue dataclasses.

Market-data snapshot values are strings keyed by field id; a last price may carry a ``C`` (prior close) or ``H``
(halted) prefix and sizes may carry thousands separators. Numbers elsewhere are JSON numbers (decoded as Decimal).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

from shared.http import MalformedResponseError, parse_wire
from shared.venues.base import Candle, OrderResult, OrderStatus, Position

VENUE = "ibkr"

FIELD_LAST, FIELD_BID, FIELD_ASK, FIELD_BID_SIZE, FIELD_ASK_SIZE, FIELD_AVAILABILITY = (
    "31",
    "84",
    "86",
    "88",
    "85",
    "6509",
)
SNAPSHOT_FIELDS = (FIELD_LAST, FIELD_BID, FIELD_ASK, FIELD_BID_SIZE, FIELD_ASK_SIZE, FIELD_AVAILABILITY)
_PRICE = re.compile(r"^[CH]?(-?\d+(?:\.\d+)?)$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KM]?)$")

BARS: dict[int, str] = {60: "1min", 300: "5mins", 900: "15mins", 1800: "30mins", 3600: "1h", 86400: "1d"}


def parse_md_price(value: object) -> Decimal | None:
    """A snapshot price string (``"189.50"``, ``"C189.50"``) exactly; None when absent; ValueError if garbled."""
    if value is None or value == "":
        return None
    match = _PRICE.match(str(value).replace(",", ""))
    if match is None:
        raise ValueError(f"not a market-data price: {value!r}")
    return Decimal(match.group(1))


def parse_md_size(value: object) -> int | None:
    """A snapshot size string (``"1,200"``, ``"3.4K"``) as an integer; None when absent."""
    if value is None or value == "":
        return None
    match = _SIZE.match(str(value).replace(",", ""))
    if match is None:
        raise ValueError(f"not a market-data size: {value!r}")
    scale = {"": 1, "K": 1_000, "M": 1_000_000}[match.group(2)]
    return int(Decimal(match.group(1)) * scale)


def whole(value: Decimal, what: str) -> int:
    """A share count that must be whole (tbot trades whole shares)."""
    if value != value.to_integral_value():
        raise MalformedResponseError(VENUE, f"{what}: fractional quantity {value}")
    return int(value)


def cost_cents(text: str | Decimal | None) -> int:
    """A commission (string or number, dollars) as cents rounded up; absent = 0."""
    if text is None or text == "":
        return 0
    try:
        amount = Decimal(str(text))
    except InvalidOperation:
        raise MalformedResponseError(VENUE, f"commission {text!r} is not a number") from None
    return int((abs(amount) * 100).to_integral_value(rounding=ROUND_CEILING))


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class WireAuthStatus(_Wire):
    authenticated: bool = False
    competing: bool = False
    connected: bool = False
    message: str = ""
    fail: str = ""


class WireSection(_Wire):
    secType: str = ""


class WireSecdef(_Wire):
    conid: int
    symbol: str | None = None
    companyName: str | None = None
    description: str | None = None
    sections: list[WireSection] = []

    @field_validator("conid", mode="before")
    @classmethod
    def _conid(cls, value: Any) -> Any:
        return int(value) if isinstance(value, str) and value.isdigit() else value


class WireSubmitted(_Wire):
    order_id: str
    order_status: str = ""


class WireReply(_Wire):
    id: str
    message: list[str] = []
    messageIds: list[str] = []


class WireOrderStatus(_Wire):
    order_id: str
    order_status: str
    cum_fill: Decimal = Decimal(0)
    total_size: Decimal | None = None
    average_price: Decimal | None = None
    side: str = ""

    @field_validator("order_id", mode="before")
    @classmethod
    def _order_id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | Decimal) else value

    @field_validator("cum_fill", "total_size", "average_price", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value == "" else value


class WirePosition(_Wire):
    conid: int
    position: Decimal
    avgPrice: Decimal | None = None
    ticker: str | None = None
    contractDesc: str = ""


class WireExecution(_Wire):
    execution_id: str
    symbol: str
    side: Literal["B", "S"]
    size: Decimal
    price: Decimal
    order_ref: str | None = None
    commission: Decimal | None = None
    trade_time_r: int
    order_id: Decimal | None = None
    conid: int | None = None

    @field_validator("price", "commission", mode="before")
    @classmethod
    def _decimal_text(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("conid", mode="before")
    @classmethod
    def _conid(cls, value: Any) -> Any:
        return int(value) if isinstance(value, str) and value.isdigit() else value


class WireBar(_Wire):
    o: Decimal
    h: Decimal
    l: Decimal  # noqa: E741 - the wire name
    c: Decimal
    v: Decimal = Decimal(0)
    t: int


class WireHistory(_Wire):
    data: list[WireBar]


class WireSummaryValue(_Wire):
    amount: Decimal | None = None
    isNull: bool = False


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, what: str) -> M:
    """Validate a decoded body into a wire model; MalformedResponseError naming the first bad field."""
    return parse_wire(model, data, what, VENUE)


def parse_list(model: type[M], data: Any, what: str) -> list[M]:
    """A JSON array of one wire model."""
    if not isinstance(data, list):
        raise MalformedResponseError(VENUE, f"{what}: expected a JSON array")
    return [parse(model, item, what) for item in data]


_STATUS: dict[str, OrderStatus] = {
    "Filled": "filled",
    "Cancelled": "cancelled",
    "Inactive": "rejected",
    "PendingCancel": "resting",
    "PendingSubmit": "resting",
    "PreSubmitted": "resting",
    "Submitted": "resting",
    "WarnState": "resting",
}


def to_result(client_order_id: str, status: WireOrderStatus, at: datetime) -> OrderResult:
    """An order's status as an OrderResult (partial fills show as partially_filled while working or cancelled)."""
    ours = _STATUS.get(status.order_status)
    if ours is None:
        raise MalformedResponseError(VENUE, f"order {status.order_id}: unknown status {status.order_status!r}")
    filled = whole(status.cum_fill, f"order {status.order_id}")
    if filled and ours in ("resting", "cancelled"):
        ours = "partially_filled"
    return OrderResult(
        client_order_id=client_order_id,
        venue_order_id=status.order_id,
        status=ours,
        filled_quantity=filled,
        avg_fill_price=status.average_price if filled else None,
        fees_cents=0,  # commissions are reported per execution (see fills)
        at=at,
    )


def to_position(position: WirePosition) -> Position | None:
    """A portfolio position; None when flat."""
    shares = whole(position.position, f"position {position.conid}")
    if shares == 0:
        return None
    return Position(
        symbol=position.ticker or position.contractDesc,
        side="long" if shares > 0 else "short",
        quantity=abs(shares),
        avg_price=position.avgPrice,
        venue_position_id=str(position.conid),
    )


def to_candle(symbol: str, bar: WireBar, granularity_s: int) -> Candle:
    """A history bar (``t`` is the bar start in Unix milliseconds)."""
    return Candle(
        symbol=symbol,
        start=datetime.fromtimestamp(bar.t / 1000, tz=UTC),
        granularity_s=granularity_s,
        open=bar.o,
        high=bar.h,
        low=bar.l,
        close=bar.c,
        volume=int(bar.v),
    )
