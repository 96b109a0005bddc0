"""The one small interface every venue implements: live adapters (Kalshi, OANDA, IBKR) and sim venues alike.

Venue JSON never leaks past an adapter: everything crosses this boundary as the frozen dataclasses below.
Units:
- Binary (Kalshi) prices are YES prices in dollars as Decimal (0.56 = 56 cents); quantities are centi-contracts
  (100 = one contract) so fractional contracts stay integers.
- FX prices are Decimal in the quote currency; quantities are integer units. Stocks: Decimal price, integer shares.
- Times are timezone-aware UTC in *venue time* (see shared/clock.py): a sim venue replays history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from shared.clock import Clock

InstrumentKind = Literal["binary", "fx", "equity"]
OrderSide = Literal["yes", "no", "long", "short"]
OrderIntent = Literal["open", "close"]
Direction = Literal["buy", "sell"]
TimeInForce = Literal["ioc", "fok", "gtc", "day"]
OrderStatus = Literal["filled", "partially_filled", "resting", "cancelled", "rejected"]
MarketStatus = Literal["unopened", "open", "closed", "settled"]


def direction(side: OrderSide, intent: OrderIntent) -> Direction:
    """The wire direction of an order: what every adapter (and the sim) derives from ``side`` and ``intent``.

    ``side`` says what is held (a YES or NO contract, a long or a short), ``intent`` whether the order opens or
    closes it; direction follows from the two and from nothing else: open long = buy, open short = sell,
    close long = sell, close short = buy; YES/NO binaries buy that side to open and sell it to close.
    """
    opening = intent == "open"
    if side == "short":
        return "sell" if opening else "buy"
    return "buy" if opening else "sell"


class VenueError(Exception):
    """A venue call failed after its retries. Never swallowed into a default value."""

    def __init__(self, venue: str, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        self.venue = venue
        self.status = status
        self.retryable = retryable
        super().__init__(f"{venue}: {message}" + (f" (HTTP {status})" if status else ""))


class AuthError(VenueError):
    """Credentials were refused (401/403): retrying will not help."""


class NotFoundError(VenueError):
    """The instrument, order or position does not exist at the venue."""


class RateLimitedError(VenueError):
    """The venue kept answering 429 after the retries."""


class OrderRejected(VenueError):
    """The venue refused the order; ``reason`` is its code."""

    def __init__(self, venue: str, reason: str) -> None:
        self.reason = reason
        super().__init__(venue, f"order rejected: {reason}")


@dataclass(frozen=True, slots=True)
class Instrument:
    venue: str
    symbol: str  # Kalshi market ticker, OANDA pair (EUR_USD), stock symbol
    kind: InstrumentKind
    title: str
    category: str  # weather, crypto, sports, politics, macro, fx, equity
    underlying: str  # Kalshi event ticker, FX pair, stock symbol: the concentration key
    status: MarketStatus = "open"
    open_time: datetime | None = None
    close_time: datetime | None = None
    strike_type: str | None = None  # greater, less, between, ...
    floor_strike: Decimal | None = None
    cap_strike: Decimal | None = None
    result: Literal["yes", "no", "void"] | None = None
    fee_type: str = "quadratic"
    fee_multiplier: Decimal = Decimal(1)
    tick_size: Decimal = Decimal("0.01")
    attributes: dict[str, str] = field(default_factory=dict)  # e.g. station, series


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    at: datetime
    bid: Decimal | None  # binary: best YES bid; FX/STK: bid price
    ask: Decimal | None  # binary: best YES ask (= 1 − best NO bid)
    bid_size: int | None = None
    ask_size: int | None = None
    last: Decimal | None = None

    @property
    def mid(self) -> Decimal | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True)
class BookLevel:
    price: Decimal
    size: int


@dataclass(frozen=True, slots=True)
class OrderBook:
    """Binary books hold bids on both sides (YES bids and NO bids); FX/STK books hold bids and asks."""

    symbol: str
    at: datetime
    bids: tuple[BookLevel, ...]  # binary: YES bids, best first
    asks: tuple[BookLevel, ...]  # binary: YES asks derived from NO bids (1 − price), best first


@dataclass(frozen=True, slots=True)
class Candle:
    symbol: str
    start: datetime
    granularity_s: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 0
    complete: bool = True


@dataclass(frozen=True, slots=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: OrderSide  # what the order opens or closes: a YES/NO contract, a long or a short
    intent: OrderIntent  # open or close that side; the wire direction is ``direction(side, intent)``
    quantity: int  # centi-contracts, FX units or shares
    limit_price: Decimal | None = None  # binary: price of the side bought, in dollars
    time_in_force: TimeInForce = "ioc"
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderResult:
    client_order_id: str
    venue_order_id: str
    status: OrderStatus
    filled_quantity: int
    avg_fill_price: Decimal | None
    fees_cents: int
    at: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Fill:
    venue_order_id: str
    client_order_id: str | None
    symbol: str
    side: OrderSide
    intent: OrderIntent  # the fill opened or closed ``side``; ``direction(side, intent)`` is its buy/sell
    quantity: int
    price: Decimal
    fees_cents: int
    at: datetime
    # What the resolver needs to book an exit from the venue's own fill (None / 0 where a venue does not say):
    # the position this fill opened or closed: its Position.venue_position_id (the OANDA trade id, the sim's
    # opening order id) or, where positions are netted per symbol (IBKR), the client order id that opened it.
    position_id: str | None = None
    realized_pnl_cents: int | None = None  # a closing fill's P&L in account cents as booked, before fees_cents
    spread_cost_cents: int = 0  # half-spread paid against the mid, account cents; already inside ``price``


@dataclass(frozen=True, slots=True)
class Position:
    symbol: str
    side: OrderSide
    quantity: int
    avg_price: Decimal | None
    client_order_id: str | None = None
    venue_position_id: str | None = None  # OANDA trade id, IBKR conid
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    symbol: str
    result: Literal["yes", "no", "void"]
    settled_at: datetime
    revenue_cents: int | None = None
    fees_cents: int = 0


@dataclass(frozen=True, slots=True)
class Balance:
    cash_cents: int
    portfolio_value_cents: int | None = None


@runtime_checkable
class Venue(Protocol):
    """What a surface (and the subscriber client) needs from a venue."""

    name: str
    clock: Clock

    def instruments(self, status: MarketStatus | None = "open") -> list[Instrument]:
        """Tradable instruments (Kalshi markets, FX pairs, stocks)."""
        ...

    def instrument(self, symbol: str) -> Instrument:
        """One instrument, with its current status and result; NotFoundError if unknown."""
        ...

    def quote(self, symbol: str) -> Quote: ...

    def orderbook(self, symbol: str, depth: int = 10) -> OrderBook: ...

    def candles(self, symbol: str, granularity_s: int, count: int) -> list[Candle]:
        """The ``count`` most recent complete candles up to the venue's now, oldest first."""
        ...

    def place_order(self, request: OrderRequest) -> OrderResult:
        """Send an order. Idempotent per client_order_id where the venue allows it."""
        ...

    def cancel_order(self, venue_order_id: str) -> None: ...

    def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        """The venue's record of an order we may have sent (reconciliation after a crash); None if unknown."""
        ...

    def positions(self) -> list[Position]: ...

    def close_position(self, symbol: str, client_order_id: str, venue_position_id: str | None = None) -> OrderResult:
        """Close an FX/STK position at market (exits always go through, STOP or not)."""
        ...

    def fills(self, since: datetime | None = None) -> list[Fill]: ...

    def settlements(self, since: datetime | None = None) -> list[Settlement]: ...

    def balance(self) -> Balance: ...
