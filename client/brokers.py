"""Brokers the client trades through: the paper broker (default, offline) or the subscriber's live venue.

Both are idempotent per client order id and can answer "did you see this order?" after a crash, which is what
makes "no second order" hold: the client writes its intent, then sends with a client order id derived from the
signal id, and on restart asks the broker about every intent that has no outcome yet.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from client.config import BrokerSection, ClientConfig
from client.pricing import FeeTerms, SeriesFee, UnsupportedInstrument, fee_cents, is_buy, kind_of
from shared.bus import Durability, JsonlLog
from shared.clock import WallClock
from shared.config import ConfigError, SurfaceSettings
from shared.ids import derive_id
from shared.money.fx import is_pair, usd_rate_pair
from shared.records import Signal
from shared.timeutil import from_iso, to_iso, utcnow
from shared.venues.base import Instrument, NotFoundError, OrderRequest, OrderResult, Quote, Venue, VenueError


class Broker(Protocol):
    name: str

    def place(self, request: OrderRequest, signal: Signal) -> OrderResult:
        """Send an order; a second call with the same client order id returns the first one's result."""
        ...

    def lookup(self, client_order_id: str) -> OrderResult | None:
        """The broker's record of an order we may have sent; None if it never arrived."""
        ...

    def close(self, request: OrderRequest, signal: Signal) -> OrderResult:
        """Close the position ``signal`` opened (``request.intent == "close"``); idempotent per client order id."""
        ...

    def exit_fill(self, request: OrderRequest, since: datetime) -> OrderResult | None:
        """The close the broker already made of this holding, found by its fills rather than its client order id
        (OANDA gives a close no client id, so a close a crash interrupted cannot be looked up by one); None while
        the broker still holds the position or shows no closing fill since ``since``."""
        ...

    def usd_rate(self, pair: str) -> Decimal | None:
        """The mid of ``pair`` (a ``USD_<quote>`` rate an FX cross converts with), or None without a quote."""
        ...


QuoteSource = Callable[[Signal], Quote | None]
InstrumentSource = Callable[[Signal], Instrument | None]
RateSource = Callable[[str], Decimal | None]


class PaperBroker:
    """Fills at the current quote crossing the spread, with the venue's fees; its order book is a fsync'd log.

    With no quote for the instrument (the sim cannot quote it, or no quote source is wired), the fill price is
    the signal's limit price moved against the subscriber by the configured slippage. An order whose fill price
    would be worse than its limit is rejected, like a live IOC limit order. Fees come from ``shared.money.fees``;
    a Kalshi market's series schedule (fee type, multiplier) from ``instruments`` where it knows the market, else
    Kalshi's standard schedule.
    """

    name = "paper"

    def __init__(
        self,
        journal: JsonlLog,
        settings: BrokerSection,
        *,
        quotes: QuoteSource | None = None,
        instruments: InstrumentSource | None = None,
        rates: RateSource | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._journal = journal
        self._settings = settings
        self._fees = FeeTerms.of(settings)
        self._quotes = quotes
        self._instruments = instruments
        self._rates = rates
        self._now = now
        self._orders: dict[str, OrderResult] = {}
        self._reader = journal.reader()
        self._load()

    def _load(self) -> None:
        for entry in self._reader.read():
            result = _result_from_json(entry.data)
            self._orders.setdefault(result.client_order_id, result)

    def lookup(self, client_order_id: str) -> OrderResult | None:
        self._load()
        return self._orders.get(client_order_id)

    def usd_rate(self, pair: str) -> Decimal | None:
        if self._rates is None:
            return None
        try:
            return self._rates(pair)
        except (VenueError, LookupError, ValueError):
            return None

    def _usd_quote_rate(self, signal: Signal) -> Decimal | None:
        if kind_of(signal.surface) != "fx":
            return None
        pair = usd_rate_pair(signal.instrument) if is_pair(signal.instrument) else None
        return None if pair is None else self.usd_rate(pair)

    def exit_fill(self, request: OrderRequest, since: datetime) -> OrderResult | None:
        """Never needed: the paper book finds every close by its client order id (:meth:`lookup`)."""
        return None

    def close(self, request: OrderRequest, signal: Signal) -> OrderResult:
        """A local close at the current quote crossing the spread (sell YES at the YES bid, NO at 1 − YES ask,
        a long at the bid, a short at the ask), with the same fees; without a quote, the signal's price moved
        against the subscriber by the paper slippage. Journalled like an open, so a retry finds it."""
        existing = self.lookup(request.client_order_id)
        if existing is not None:
            return existing
        price, source = self._exit_price(signal)
        at = self._now()
        venue_id = derive_id("paper", request.client_order_id)
        try:
            fee = fee_cents(signal.surface, signal.instrument, price, request.quantity, self._fees,
                            series=SeriesFee.of(self._instrument(signal)),
                            usd_quote_rate=self._usd_quote_rate(signal))
            result = OrderResult(request.client_order_id, venue_id, "filled", request.quantity, price, fee, at,
                                 f"close ({source})")
        except UnsupportedInstrument as exc:
            result = OrderResult(request.client_order_id, venue_id, "rejected", 0, None, 0, at, str(exc))
        self._journal.append(_result_to_json(result))
        self._orders[result.client_order_id] = result
        return result

    def _current_quote(self, signal: Signal) -> Quote | None:
        """The quote source's current quote for the signal's instrument; None without one (or when it fails)."""
        if self._quotes is None:
            return None
        try:
            return self._quotes(signal)
        except (VenueError, LookupError, ValueError):
            return None

    def _exit_price(self, signal: Signal) -> tuple[Decimal, str]:
        quote = self._current_quote(signal)
        kind = kind_of(signal.surface)
        if quote is not None and quote.bid is not None and quote.ask is not None:
            if kind == "binary":
                return (quote.bid if signal.side == "yes" else Decimal(1) - quote.ask), "quote"
            return (quote.bid if is_buy(signal.side) else quote.ask), "quote"
        if kind == "binary":
            return max(Decimal("0.01"), signal.limit_price - self._settings.paper_slippage_binary), "limit-slippage"
        move = signal.limit_price * self._settings.paper_slippage_fraction
        price = signal.limit_price - move if is_buy(signal.side) else signal.limit_price + move
        return price.quantize(_tick(signal)), "limit-slippage"

    def place(self, request: OrderRequest, signal: Signal) -> OrderResult:
        existing = self.lookup(request.client_order_id)
        if existing is not None:
            return existing
        price, source = self._fill_price(signal)
        at = self._now()
        venue_id = derive_id("paper", request.client_order_id)
        limit = request.limit_price
        buy = is_buy(signal.side)
        if limit is not None and ((buy and price > limit) or (not buy and price < limit)):
            result = OrderResult(request.client_order_id, venue_id, "rejected", 0, None, 0, at,
                                 f"price {price} beyond limit {limit} ({source})")
        else:
            try:
                fee = fee_cents(signal.surface, signal.instrument, price, request.quantity, self._fees,
                                series=SeriesFee.of(self._instrument(signal)),
                                usd_quote_rate=self._usd_quote_rate(signal))
                result = OrderResult(request.client_order_id, venue_id, "filled", request.quantity, price, fee, at,
                                     source)
            except UnsupportedInstrument as exc:  # no honest fee (a flat-fee series): no paper fill either
                result = OrderResult(request.client_order_id, venue_id, "rejected", 0, None, 0, at, str(exc))
        self._journal.append(_result_to_json(result))
        self._orders[result.client_order_id] = result
        return result

    def _instrument(self, signal: Signal) -> Instrument | None:
        """The market's instrument (its fee schedule) where the source knows this very market, else None."""
        if self._instruments is None:
            return None
        try:
            found = self._instruments(signal)
        except (VenueError, LookupError, ValueError):
            return None
        return found if found is not None and found.symbol == signal.instrument else None

    def _in_band(self, quote: Quote, signal: Signal) -> bool:
        """Whether a quote prices the market the signal saw (and not another moment of a replay)."""
        assert quote.bid is not None and quote.ask is not None
        if kind_of(signal.surface) == "binary":
            side_mid = (quote.bid + quote.ask) / 2 if signal.side == "yes" else 1 - (quote.bid + quote.ask) / 2
            return abs(side_mid - signal.limit_price) <= self._settings.paper_quote_band_binary
        mid = (quote.bid + quote.ask) / 2
        return abs(mid - signal.limit_price) <= signal.limit_price * self._settings.paper_quote_band_fraction

    def _fill_price(self, signal: Signal) -> tuple[Decimal, str]:
        quote = self._current_quote(signal)
        kind = kind_of(signal.surface)
        if quote is not None and quote.bid is not None and quote.ask is not None and self._in_band(quote, signal):
            if kind == "binary":
                # Buying YES lifts the YES ask; buying NO lifts the NO ask = 1 − best YES bid.
                return (quote.ask if signal.side == "yes" else Decimal(1) - quote.bid), "quote"
            return (quote.ask if is_buy(signal.side) else quote.bid), "quote"
        if kind == "binary":
            return min(Decimal("0.99"), signal.limit_price + self._settings.paper_slippage_binary), "limit+slippage"
        move = signal.limit_price * self._settings.paper_slippage_fraction
        price = signal.limit_price + move if is_buy(signal.side) else signal.limit_price - move
        return price.quantize(_tick(signal)), "limit+slippage"


def _tick(signal: Signal) -> Decimal:
    if kind_of(signal.surface) == "equity":
        return Decimal("0.01")
    return Decimal("0.001") if signal.instrument.upper().endswith("JPY") else Decimal("0.00001")


class VenueBroker:
    """The subscriber's live account through a shared venue adapter (their keys, their broker, nobody else)."""

    def __init__(self, venue: Venue) -> None:
        self._venue = venue
        self.name = venue.name

    def place(self, request: OrderRequest, signal: Signal) -> OrderResult:
        return self._venue.place_order(request)

    def lookup(self, client_order_id: str) -> OrderResult | None:
        try:
            return self._venue.order_by_client_id(client_order_id)
        except NotFoundError:
            return None

    def close(self, request: OrderRequest, signal: Signal) -> OrderResult:
        """The venue's own ``close_position`` (Kalshi: an IOC sell at the floor; OANDA, IBKR: at market)."""
        return self._venue.close_position(request.symbol, request.client_order_id)

    def exit_fill(self, request: OrderRequest, since: datetime) -> OrderResult | None:
        held = any(p.symbol == request.symbol and p.side == request.side for p in self._venue.positions())
        if held:
            return None
        fills = [f for f in self._venue.fills(since) if f.symbol == request.symbol and f.side == request.side
                 and f.intent == "close" and f.quantity > 0]
        if not fills:
            return None
        quantity = sum(f.quantity for f in fills)
        price = sum((f.price * f.quantity for f in fills), Decimal(0)) / quantity
        return OrderResult(client_order_id=request.client_order_id, venue_order_id=fills[-1].venue_order_id,
                           status="filled", filled_quantity=quantity, avg_fill_price=price,
                           fees_cents=sum(f.fees_cents for f in fills), at=fills[-1].at,
                           reason="found by its closing fills")

    def usd_rate(self, pair: str) -> Decimal | None:
        try:
            return self._venue.quote(pair).mid
        except (VenueError, LookupError, ValueError):
            return None


def _result_to_json(result: OrderResult) -> dict[str, Any]:
    return {
        "client_order_id": result.client_order_id,
        "venue_order_id": result.venue_order_id,
        "status": result.status,
        "filled_quantity": result.filled_quantity,
        "avg_fill_price": None if result.avg_fill_price is None else format(result.avg_fill_price, "f"),
        "fees_cents": result.fees_cents,
        "at": to_iso(result.at),
        "reason": result.reason,
    }


def _result_from_json(data: dict[str, Any]) -> OrderResult:
    price = data.get("avg_fill_price")
    return OrderResult(
        str(data["client_order_id"]), str(data["venue_order_id"]), data["status"], int(data["filled_quantity"]),
        None if price is None else Decimal(str(price)), int(data["fees_cents"]), from_iso(str(data["at"])),
        str(data.get("reason", "")),
    )


def _adapter_from_settings(config: ClientConfig, settings: Any) -> Any:
    """``shared.venues.<kind>.execution``'s ``from_settings``: a module function or its ``*Venue`` classmethod."""
    name = f"shared.venues.{config.broker.kind}.execution"
    try:
        module = importlib.import_module(name)
    except ImportError:
        raise ConfigError(config.source, "broker.kind", f"{name} is not installed") from None
    factory = getattr(module, "from_settings", None)
    if factory is None:
        classes = [v for k, v in vars(module).items()
                   if k.endswith("Venue") and hasattr(v, "from_settings") and v.__module__ == name]
        if len(classes) != 1:
            raise ConfigError(config.source, "broker.kind", f"{name} has no from_settings")
        factory = classes[0].from_settings
    return factory(settings, WallClock())


class SimMarkets:
    """The shared sim venues as the paper broker's market: a signal's quote and its instrument (fee schedule).

    The sim replays history on the clock of a running fleet, whose epoch file lives in its ``logs/``: point
    ``broker.paper_sim_log_dir`` there (the operator's demo box, or your own paper fleet) to fill at the sim's
    quotes. Without a fleet epoch the factory raises and every fill uses the signal's price plus slippage; a
    quote far from the signal's price (another replay moment) is discarded by :class:`PaperBroker`'s band check.
    """

    def __init__(self, build: Callable[[str, Path], Venue], log_dir: Path) -> None:
        self._build = build
        self._log_dir = log_dir
        self._venues: dict[str, Venue | None] = {}

    def _venue(self, surface: str) -> Venue | None:
        if surface not in self._venues:
            try:
                self._venues[surface] = self._build(surface, self._log_dir)
            except Exception:  # no fleet epoch under log_dir, or no sim: just "no market"
                self._venues[surface] = None
        return self._venues[surface]

    def quote(self, signal: Signal) -> Quote | None:
        return self.quote_symbol(signal.surface, signal.instrument)

    def quote_symbol(self, surface: str, symbol: str) -> Quote | None:
        venue = self._venue(surface)
        if venue is None:
            return None
        try:
            return venue.quote(symbol)
        except VenueError:  # a market this replay does not list (or no longer quotes): fill from the signal
            return None

    def fx_rate(self, pair: str) -> Decimal | None:
        """The FX sim's mid for ``pair`` (the ``USD_<quote>`` rate a cross needs)."""
        quote = self.quote_symbol("fx", pair)
        return None if quote is None else quote.mid

    def instrument(self, signal: Signal) -> Instrument | None:
        venue = self._venue(signal.surface)
        if venue is None:
            return None
        try:
            return venue.instrument(signal.instrument)
        except VenueError:
            return None


def sim_markets(log_dir: Path) -> SimMarkets | None:
    """The sim venues of ``shared.venues.factory`` over a fleet's ``log_dir``, or None where they are not installed."""
    try:
        factory = importlib.import_module("shared.venues.factory")
    except ImportError:
        return None
    build = getattr(factory, "build_sim_quote_venue", None)
    return None if build is None else SimMarkets(build, log_dir)


def sim_quote_source(log_dir: Path) -> QuoteSource | None:
    """Quotes from the shared sim venues (see :class:`SimMarkets`), or None where they are not installed."""
    markets = sim_markets(log_dir)
    return None if markets is None else markets.quote


def open_broker(config: ClientConfig) -> Broker:
    """The broker the config names: paper (standalone), or a live adapter built from the subscriber's keys."""
    if config.broker.kind == "paper":
        journal = JsonlLog(config.state_dir / "paper_orders.jsonl", Durability.FSYNC)
        markets = None
        if config.broker.paper_quotes == "sim":
            markets = sim_markets(config.resolve(config.broker.paper_sim_log_dir or config.state.dir / "sim"))
        if markets is None:
            return PaperBroker(journal, config.broker)
        return PaperBroker(journal, config.broker, quotes=markets.quote, instruments=markets.instrument,
                           rates=markets.fx_rate)
    return VenueBroker(open_live_venue(config))


def open_live_venue(config: ClientConfig) -> Venue:
    """A live venue from the subscriber's 0600 env file through ``shared.venues.factory.build_venue``."""
    secrets = config.broker_secrets()
    values = {key.lower(): value for key, value in secrets.items()}
    values.setdefault("venue", config.broker.kind)
    values.setdefault("trading_mode", "live")
    if values["trading_mode"] != "live":
        # A live broker sends real orders with the subscriber's keys: a file that says paper must not build one
        # (paper is broker.kind = "paper", which never builds a live adapter).
        raise ConfigError(config.resolve(config.broker.secrets_file or Path("?")), "TRADING_MODE",
                          f"broker.kind = {config.broker.kind!r} trades live; for paper set broker.kind = \"paper\" "
                          "(paper on a live venue's data is not built yet)")
    try:
        settings = SurfaceSettings.model_validate(values)
    except ValidationError as exc:
        # Name the key, never echo the value: it may be a secret.
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error.get("loc", ())).upper() or "(broker)"
        raise ConfigError(config.resolve(config.broker.secrets_file or Path("?")), key, error["msg"]) from None
    try:
        factory = importlib.import_module("shared.venues.factory")
        venue = factory.build_venue(settings)
    except ImportError:
        # The standalone client wheel ships the live adapters but not the sim the factory also imports.
        venue = _adapter_from_settings(config, settings)
    if not isinstance(venue, Venue):
        raise ConfigError(config.source, "broker.kind", f"{config.broker.kind}: adapter is not a venue")
    return venue
