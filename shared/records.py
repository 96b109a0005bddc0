"""The records every process writes to the bus: pydantic v2 models, validated on write and on read.

Conventions:
- Money is integer cents (fields ending ``_cents``, plus ``fees`` and ``pnl`` named by the architecture);
  prices of instruments are Decimal (serialized as strings, so no float ever touches them); Kalshi counts are
  centi-contracts (1 contract = 100), FX and stock quantities are integer units or shares.
- Times are timezone-aware UTC; naive datetimes are rejected.
- Every record carries ``kind`` and ``schema`` (its version). The bus adds ``ts`` (the append time) on write.
- Records are frozen: a new state is a new line, never an edit.
- Reading tolerates fields a newer writer added (``parse_record`` drops keys this version does not know).
"""

from __future__ import annotations

import base64
import json
import types
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from shared.ids import new_id
from shared.surfaces import SURFACE_NAMES

SCHEMA_VERSION = 1


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware UTC")
    return moment


def _serialize_time(moment: datetime) -> str:
    from shared.timeutil import to_iso

    return to_iso(moment)


UtcTime = Annotated[datetime, AfterValidator(_require_aware), PlainSerializer(_serialize_time, return_type=str)]
"""A timezone-aware datetime, serialized as fixed-width ISO-8601 UTC."""

Price = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str)]
"""An instrument price (dollars for Kalshi, quote currency for FX/STK): Decimal, serialized as a string."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
"""A probability in [0, 1]. Probabilities are ratios, not money, so a float is exact enough."""

if TYPE_CHECKING:
    Surface = str
else:
    # The names in the one table of surfaces (shared/surfaces.py), as a Literal: validation and the dashboard's OpenAPI
    # schema follow the table, so a new surface is a row there and its own package, nothing here.
    Surface = Literal[SURFACE_NAMES]
SURFACES: tuple[str, ...] = SURFACE_NAMES  # the table in shared/surfaces.py; a test keeps ``Surface`` equal to it
Side = Literal["yes", "no", "long", "short"]
Venue = Literal["sim", "kalshi", "oanda", "ibkr"]
Mode = Literal["paper", "live"]
ResolutionSource = Literal["kalshi_resolution", "nws_observation", "oanda_candles", "ibkr_position", "sim"]
# ``resting``: a maker order the venue holds (ORDER_STYLE=rest|rest_then_take); its count and cost are the whole
# order (worst case), fill_price/fees what has filled so far. It ends filled (what filled) or cancelled (nothing did).
TradeStatus = Literal["intent", "placed", "resting", "filled", "resolved", "rejected", "cancelled"]
OrderStyle = Literal["take", "rest", "rest_then_take"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"resolved", "rejected", "cancelled"})


class Record(BaseModel):
    """Base of every bus record."""

    # NaN and infinity are refused on write: JSON has no spelling for them, so they would not survive a read.
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)

    KIND: ClassVar[str] = "record"
    schema_version: int = Field(default=SCHEMA_VERSION, alias="schema")
    ts: UtcTime | None = Field(default=None, description="Append time, stamped by the bus; None before append")

    def to_json_dict(self) -> dict[str, Any]:
        """The record as the JSON object the bus writes (aliases applied, Decimals as strings)."""
        data: dict[str, Any] = json.loads(self.model_dump_json(by_alias=True, exclude={"ts"}))
        return data


_SIGNAL_OPTIONAL = ("order_style", "rest_expires_at", "capacity")


class Signal(Record):
    """A trade a surface took, published to subscribers. Signed by the operator's Ed25519 key."""

    KIND: ClassVar[str] = "signal"
    kind: Literal["signal"] = "signal"
    id: str = Field(default_factory=new_id)
    published_at: UtcTime
    expires_at: UtcTime
    surface: Surface
    sub_strategy: str
    venue: Venue
    instrument: str
    title: str = ""
    side: Side
    limit_price: Price
    size_fraction: Annotated[Decimal, Field(ge=0, le=1)]
    p_model: Probability
    p_market: Probability
    edge: float = Field(description="Probability points after fees (dollars per contract for binaries)")
    confidence: Probability
    model_spread: Annotated[float, Field(ge=0.0)] | None = Field(
        default=0.0, description="Disagreement of independent models (weighted std of p); None on one opinion"
    )
    models: tuple[str, ...] = Field(default=(), description="Models that answered, e.g. ('offline-baseline',)")
    eta_hours: Annotated[float, Field(ge=0.0)] | None = None
    stop_loss: Price | None = None
    take_profit: Price | None = None
    dry_run: bool = True
    prev_hash: str = Field(
        default="", max_length=64,
        description="SHA-256 (hex) of the canonical bytes of the previous signal on this surface; '' starts a chain",
    )
    # How to trade it (set only when the operator did not simply take; left out of the signed bytes when unset, so
    # signals signed before these fields existed still verify).
    order_style: OrderStyle | None = Field(
        default=None, description="take | rest | rest_then_take: how the operator traded it (None: take)"
    )
    rest_expires_at: UtcTime | None = Field(default=None, description="When the operator's resting order expires")
    capacity: int | None = Field(
        default=None, ge=0,
        description="What the book could absorb at the operator's price (binary: centi-contracts) when decided",
    )
    signature: str = ""

    def canonical_bytes(self) -> bytes:
        """The bytes the signature covers: every field but ``signature`` and ``ts``, keys sorted, compact.

        An empty ``prev_hash`` is left out, so signals signed before the field existed still verify; a set one is
        covered by the signature, which is what makes the per-surface hash chain tamper-evident.
        """
        data = self.to_json_dict()
        data.pop("signature", None)
        if not data.get("prev_hash"):
            data.pop("prev_hash", None)
        for optional in _SIGNAL_OPTIONAL:
            if data.get(optional) is None:
                data.pop(optional, None)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


class GateOutcome(BaseModel):
    """One gate's answer inside a decision record."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    gate: str
    passed: bool
    reason_code: str | None = None
    detail: str = ""


class Decision(Record):
    """Every candidate a surface evaluated, with each gate's outcome and the first gate that stopped it."""

    KIND: ClassVar[str] = "decision"
    kind: Literal["decision"] = "decision"
    id: str = Field(default_factory=new_id)
    decided_at: UtcTime
    surface: Surface
    sub_strategy: str
    instrument: str
    side: Side
    candidate_id: str = Field(description="The signal id this candidate would publish under if accepted")
    accepted: bool
    stopped_by: str | None = None
    reason_code: str | None = None
    gates: tuple[GateOutcome, ...]
    p_model: Probability | None = None
    p_market: Probability | None = None
    edge: float | None = Field(
        default=None, description="Probability points after fees (dollars per contract for binaries)"
    )
    confidence: Probability | None = None
    model_spread: float | None = None
    models: tuple[str, ...] = ()
    context: dict[str, Any] = Field(default_factory=dict, description="Model answers, fees, prices: the audit trail")
    repeats: int = Field(
        default=1, ge=1,
        description="Evaluations this line stands for: denials that repeated the previous decision for the same "
                    "instrument, side and sub-strategy (same gate, same reason) are written as one summary line",
    )
    first_at: UtcTime | None = Field(default=None, description="A summary line: the first repeat's decided_at")
    last_at: UtcTime | None = Field(default=None, description="A summary line: the last repeat's decided_at")


class Trade(Record):
    """One state of an order's life: intent → placed → filled → resolved (or rejected / cancelled)."""

    KIND: ClassVar[str] = "trade"
    kind: Literal["trade"] = "trade"
    id: str = Field(description="Stable trade id: every state of one order shares it")
    signal_id: str
    client_order_id: str
    status: TradeStatus
    mode: Mode = "paper"
    surface: Surface
    sub_strategy: str = ""
    venue: Venue
    instrument: str
    side: Side
    category: str = ""
    underlying: str = ""
    count: int | None = Field(default=None, ge=0, description="Kalshi: centi-contracts (100 = 1 contract)")
    units: int | None = Field(default=None, ge=0, description="FX units or shares")
    limit_price: Price | None = None
    fill_price: Price | None = None
    exit_price: Price | None = None
    cost_cents: int | None = Field(default=None, description="Cash committed at entry, fees excluded")
    fees: int = Field(default=0, ge=0, description="Fees in integer cents, entry and exit together")
    opened_at: UtcTime | None = None
    resolved_at: UtcTime | None = None
    pnl: int | None = Field(default=None, description="Realized P&L after fees, integer cents")
    resolution_source: ResolutionSource | None = None
    eta_hours: float | None = None
    stop_loss: Price | None = None
    take_profit: Price | None = None
    venue_order_id: str | None = None
    reason: str = ""


class Callback(Record):
    """A subscriber's ack / executed / resolved report. ``subscriber_id`` never leaves the operator's box."""

    KIND: ClassVar[str] = "callback"
    kind: Literal["callback"] = "callback"
    subscriber_id: str
    signal_id: str
    callback: Literal["ack", "executed", "resolved"]
    body: dict[str, Any] = Field(default_factory=dict)
    received_at: UtcTime


class Heartbeat(Record):
    """A loop's sign of life, one per tick."""

    KIND: ClassVar[str] = "heartbeat"
    kind: Literal["heartbeat"] = "heartbeat"
    process: str
    at: UtcTime
    tick: int
    pid: int
    detail: dict[str, Any] = Field(default_factory=dict)


class BreakerEvent(Record):
    """A circuit breaker or quarantine tripping or resetting on one surface."""

    KIND: ClassVar[str] = "breaker"
    kind: Literal["breaker"] = "breaker"
    surface: Surface
    breaker: str
    action: Literal["trip", "reset"]
    at: UtcTime
    reason: str = ""


class SettingsOverride(Record):
    """An operator's change to a surface at run time (threshold override or category suspension)."""

    KIND: ClassVar[str] = "override"
    kind: Literal["override"] = "override"
    surface: Surface
    at: UtcTime
    key: str
    value: Any = None


RECORD_TYPES: dict[str, type[Record]] = {
    cls.KIND: cls for cls in (Signal, Decision, Trade, Callback, Heartbeat, BreakerEvent, SettingsOverride)
}

R = TypeVar("R", bound=Record)
M = TypeVar("M", bound=BaseModel)
# The setters of BaseModel's four slots, taken from their descriptors: calling them directly costs a third of
# object.__setattr__, which looks each one up through the model's MRO first.
_set_dict, _set_fields_set, _set_extra, _set_private = (
    vars(BaseModel)[slot].__set__
    for slot in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
)
_new_object = object.__new__
_FIELD_NAMES: dict[type[BaseModel], set[str]] = {}


def prevalidated(cls: type[M], values: dict[str, Any]) -> M:
    """A ``cls`` holding ``values`` as given, skipping validation: only for values validated already.

    For the risk chain's hot path, which builds one decision per candidate from a validated :class:`Candidate`
    and from outcomes it built itself: validating them again, or ``model_copy(update=...)``, costs several times
    more than the ten gates together. ``values`` must name every field of ``cls`` (by field name, not alias) and
    belongs to the model from then on. Tests round-trip such records through ``model_validate`` to keep this
    honest.
    """
    names = _FIELD_NAMES.get(cls)
    if names is None:
        if not cls.model_config.get("frozen"):
            raise TypeError(f"{cls.__name__} is not frozen: its instances cannot share a fields set")
        names = _FIELD_NAMES[cls] = set(cls.model_fields)
    # Counting is the cheap check (comparing the keys costs as much as building the model): it catches a field
    # added to the model but not to the caller's dict, the likely slip; the round-trip tests catch a misspelling.
    if len(values) != len(names):
        raise ValueError(f"{cls.__name__}: fields {sorted(names ^ values.keys())} missing or unknown")
    model = _new_object(cls)
    _set_dict(model, values)
    # Every field is set. One set serves every instance: frozen models never change it, and model_copy copies it.
    _set_fields_set(model, names)
    _set_extra(model, None)
    _set_private(model, None)
    return model


def parse_record(cls: type[R], data: dict[str, Any], ts: str | None = None) -> R:
    """Validate a record read from the bus, tolerating fields that a newer writer added (nested ones too)."""
    payload = _known_fields(cls, data)
    if ts is not None:
        payload["ts"] = ts
    return cls.model_validate(payload)


def _known_fields(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    # Models forbid unknown keys so that a typo fails on write; on read, a key this version does not know was
    # added by a newer writer, so it is dropped, at every level (e.g. a new field inside a decision's gates).
    by_key: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        by_key[name] = info.annotation
        if info.alias:
            by_key[info.alias] = info.annotation
    return {key: _known_value(by_key[key], value) for key, value in data.items() if key in by_key}


def _known_value(annotation: Any, value: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _known_fields(annotation, value) if isinstance(value, dict) else value
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _known_value(args[0], value)
    if origin in (Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return _known_value(models[0], value) if len(models) == 1 else value
    if origin in (tuple, list) and isinstance(value, list) and args:
        element = args[0]
        return [_known_value(element, item) for item in value]
    return value


def parse_any(data: dict[str, Any], ts: str | None = None) -> Record:
    """Validate a record of whatever kind it names."""
    kind = data.get("kind")
    cls = RECORD_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown record kind: {kind!r}")
    return parse_record(cls, data, ts)


def encode_signature(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def decode_signature(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)
