"""Records: every type round-trips through the bus; reads tolerate newer fields; writes refuse bad values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.bus import JsonlLog
from shared.ids import id_time_ms
from shared.records import (
    RECORD_TYPES,
    SURFACES,
    BreakerEvent,
    Callback,
    Decision,
    GateOutcome,
    Heartbeat,
    Record,
    SettingsOverride,
    Signal,
    Trade,
    parse_any,
    parse_record,
    prevalidated,
)

# ------------------------------------------------------------------ strategies

_offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=_offsets)
prices = st.decimals(min_value=0, max_value=100_000, places=5, allow_nan=False, allow_infinity=False)
fractions = st.decimals(min_value=0, max_value=1, places=6, allow_nan=False, allow_infinity=False)
probs = st.floats(0.0, 1.0, allow_nan=False)
reals = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
texts = st.text(max_size=30)
surfaces = st.sampled_from(SURFACES)
sides = st.sampled_from(["yes", "no", "long", "short"])
venues = st.sampled_from(["sim", "kalshi", "oanda", "ibkr"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | reals | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(texts, json_values, max_size=4)
ids = st.text(alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=26, max_size=26)

signals = st.builds(
    Signal,
    id=ids,
    published_at=times,
    expires_at=times,
    surface=surfaces,
    sub_strategy=texts,
    venue=venues,
    instrument=texts,
    title=texts,
    side=sides,
    limit_price=prices,
    size_fraction=fractions,
    p_model=probs,
    p_market=probs,
    edge=reals,
    confidence=probs,
    model_spread=st.floats(0, 1, allow_nan=False),
    models=st.lists(texts, max_size=3).map(tuple),
    eta_hours=st.none() | st.floats(0, 1e4, allow_nan=False),
    stop_loss=st.none() | prices,
    take_profit=st.none() | prices,
    dry_run=st.booleans(),
    signature=texts,
)
gates = st.builds(GateOutcome, gate=texts, passed=st.booleans(), reason_code=st.none() | texts, detail=texts)
decisions = st.builds(
    Decision,
    decided_at=times,
    surface=surfaces,
    sub_strategy=texts,
    instrument=texts,
    side=sides,
    candidate_id=ids,
    accepted=st.booleans(),
    stopped_by=st.none() | texts,
    reason_code=st.none() | texts,
    gates=st.lists(gates, max_size=10).map(tuple),
    p_model=st.none() | probs,
    p_market=st.none() | probs,
    edge=st.none() | reals,
    confidence=st.none() | probs,
    model_spread=st.none() | st.floats(0, 1, allow_nan=False),
    models=st.lists(texts, max_size=3).map(tuple),
    context=json_objects,
)
cents = st.integers(-(10**12), 10**12)
trades = st.builds(
    Trade,
    id=texts,
    signal_id=ids,
    client_order_id=texts,
    status=st.sampled_from(["intent", "placed", "filled", "resolved", "rejected", "cancelled"]),
    mode=st.sampled_from(["paper", "live"]),
    surface=surfaces,
    sub_strategy=texts,
    venue=venues,
    instrument=texts,
    side=sides,
    category=texts,
    underlying=texts,
    count=st.none() | st.integers(0, 10**9),
    units=st.none() | st.integers(0, 10**9),
    limit_price=st.none() | prices,
    fill_price=st.none() | prices,
    exit_price=st.none() | prices,
    cost_cents=st.none() | cents,
    fees=st.integers(0, 10**9),
    opened_at=st.none() | times,
    resolved_at=st.none() | times,
    pnl=st.none() | cents,
    resolution_source=st.none()
    | st.sampled_from(["kalshi_resolution", "nws_observation", "oanda_candles", "ibkr_position", "sim"]),
    eta_hours=st.none() | st.floats(0, 1e4, allow_nan=False),
    stop_loss=st.none() | prices,
    take_profit=st.none() | prices,
    venue_order_id=st.none() | texts,
    reason=texts,
)
callbacks = st.builds(
    Callback,
    subscriber_id=texts,
    signal_id=ids,
    callback=st.sampled_from(["ack", "executed", "resolved"]),
    body=json_objects,
    received_at=times,
)
heartbeats = st.builds(
    Heartbeat, process=texts, at=times, tick=st.integers(0, 10**9), pid=st.integers(1, 2**22), detail=json_objects
)
breakers = st.builds(
    BreakerEvent,
    surface=surfaces,
    breaker=texts,
    action=st.sampled_from(["trip", "reset"]),
    at=times,
    reason=texts,
)
overrides = st.builds(SettingsOverride, surface=surfaces, at=times, key=texts, value=json_values)
any_record = st.one_of(signals, decisions, trades, callbacks, heartbeats, breakers, overrides)

DECIMAL_FIELDS = {"limit_price", "size_fraction", "stop_loss", "take_profit", "fill_price", "exit_price"}


def test_every_record_type_has_a_strategy() -> None:
    assert set(RECORD_TYPES) == {"signal", "decision", "trade", "callback", "heartbeat", "breaker", "override"}


# ------------------------------------------------------------------ round trip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(any_record, min_size=1, max_size=5))
def test_every_record_type_round_trips_through_the_bus(tmp_path: Path, records: list[Record]) -> None:
    path = tmp_path / "rt.jsonl"
    path.unlink(missing_ok=True)
    log = JsonlLog(path)
    stamps = log.append_many(records)
    raw_lines = path.read_bytes().splitlines()
    entries = log.read_all()
    assert len(entries) == len(records)
    for record, stamp, entry, raw in zip(records, stamps, entries, raw_lines, strict=True):
        back = parse_any(entry.data, entry.ts)
        assert type(back) is type(record)
        assert back == record.model_copy(update={"ts": datetime.fromisoformat(stamp)})
        assert parse_record(type(record), entry.data, entry.ts) == back
        # Prices and fractions are strings in the JSON, never floats.
        loaded = json.loads(raw)
        for name in DECIMAL_FIELDS & set(loaded):
            assert loaded[name] is None or isinstance(loaded[name], str)
        assert loaded["schema"] == 1 and loaded["kind"] == record.KIND


def test_decimal_prices_are_never_floats_in_the_json(tmp_path: Path) -> None:
    log = JsonlLog(tmp_path / "d.jsonl")
    signal = _signal(limit_price=Decimal("0.1"), stop_loss=Decimal("1.08345"), size_fraction=Decimal("0.05"))
    log.append(signal)
    raw = (tmp_path / "d.jsonl").read_text()
    assert '"limit_price":"0.1"' in raw and '"stop_loss":"1.08345"' in raw and '"size_fraction":"0.05"' in raw
    back = parse_record(Signal, log.read_all()[0].data)
    assert back.limit_price == Decimal("0.1") and isinstance(back.limit_price, Decimal)
    # Nothing went through a binary float: 0.1 stays exactly one tenth.
    assert back.limit_price * 3 == Decimal("0.3")


# ------------------------------------------------------------------ reading newer and bad data


def _signal(**changes: Any) -> Signal:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    fields: dict[str, Any] = {
        "published_at": now,
        "expires_at": now + timedelta(seconds=600),
        "surface": "kalshi_st",
        "sub_strategy": "weather",
        "venue": "sim",
        "instrument": "KXHIGHNY-26MAR01-B52.5",
        "side": "yes",
        "limit_price": Decimal("0.42"),
        "size_fraction": Decimal("0.02"),
        "p_model": 0.55,
        "p_market": 0.42,
        "edge": 0.08,
        "confidence": 0.7,
    }
    fields.update(changes)
    return Signal(**fields)


def test_unknown_newer_fields_are_tolerated_on_read_at_every_level() -> None:
    decision = Decision(
        decided_at=datetime(2026, 3, 1, tzinfo=UTC),
        surface="fx",
        sub_strategy="atr",
        instrument="EUR_USD",
        side="long",
        candidate_id="c1",
        accepted=False,
        stopped_by="min_edge",
        gates=(GateOutcome(gate="stop_file", passed=True), GateOutcome(gate="min_edge", passed=False)),
    )
    data = decision.to_json_dict()
    data["schema"] = 2
    data["added_in_v2"] = {"anything": [1, 2]}
    data["gates"][1]["latency_us"] = 12
    back = parse_record(Decision, data)
    assert back.gates == decision.gates and back.schema_version == 2
    assert parse_any(data).model_copy(update={"schema_version": 1}) == decision
    # Writing, by contrast, refuses unknown fields: a typo fails loudly.
    with pytest.raises(ValidationError):
        Decision(**{**decision.model_dump(), "acepted": True})


def test_naive_datetimes_are_rejected_on_write_and_read() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        _signal(published_at=datetime(2026, 3, 1, 12, 0))
    data = _signal().to_json_dict()
    data["published_at"] = "2026-03-01T12:00:00"
    with pytest.raises(ValidationError, match="timezone-aware"):
        parse_record(Signal, data)
    data["published_at"] = "2026-03-01T13:00:00+01:00"
    assert parse_record(Signal, data).published_at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"p_model": 1.5},
        {"confidence": -0.1},
        {"edge": float("nan")},
        {"edge": float("inf")},
        {"limit_price": Decimal("NaN")},
        {"size_fraction": Decimal("1.5")},
        {"side": "sideways"},
        {"surface": "crypto"},
    ],
)
def test_invalid_values_are_refused_on_write(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _signal(**changes)


def test_trade_money_is_integer_cents() -> None:
    base = {"id": "t", "signal_id": "s", "client_order_id": "c", "status": "filled", "surface": "fx", "venue": "sim",
            "instrument": "EUR_USD", "side": "long"}
    with pytest.raises(ValidationError):
        Trade(**base, fees=1.5)
    with pytest.raises(ValidationError):
        Trade(**base, fees=-1)
    assert Trade(**base, fees=12, pnl=-340).pnl == -340


def test_records_are_frozen() -> None:
    signal = _signal()
    with pytest.raises(ValidationError):
        signal.edge = 0.5  # type: ignore[misc]


def test_parse_any_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown record kind"):
        parse_any({"kind": "mystery"})
    with pytest.raises(ValueError, match="unknown record kind"):
        parse_any({})


def test_default_ids_are_time_sortable_and_carry_the_time() -> None:
    first = _signal()
    second = _signal()
    assert len(first.id) == 26
    assert abs(id_time_ms(first.id) - datetime.now(UTC).timestamp() * 1000) < 60_000
    assert id_time_ms(second.id) >= id_time_ms(first.id)


def test_canonical_bytes_exclude_signature_and_ts_and_are_stable() -> None:
    signal = _signal()
    signed = signal.model_copy(update={"signature": "c2ln", "ts": datetime(2026, 3, 1, tzinfo=UTC)})
    assert signal.canonical_bytes() == signed.canonical_bytes()
    assert b"signature" not in signal.canonical_bytes() and b'"ts"' not in signal.canonical_bytes()
    assert signal.canonical_bytes() != _signal(edge=0.09).canonical_bytes()
    assert json.loads(signal.canonical_bytes())["limit_price"] == "0.42"


def test_prevalidated_builds_the_record_validation_would() -> None:
    values = {"gate": "min_edge", "passed": False, "reason_code": "min_edge", "detail": "edge 0.01 < 0.03"}
    built = prevalidated(GateOutcome, dict(values))
    assert built == GateOutcome(**values) and built.model_dump_json() == GateOutcome(**values).model_dump_json()
    assert built.model_fields_set == set(values)
    copied = built.model_copy(update={"detail": "x"})  # copies its fields set, never changes the shared one
    assert copied.detail == "x" and built.detail == values["detail"]
    with pytest.raises(ValueError, match="detail"):
        prevalidated(GateOutcome, {"gate": "g", "passed": True, "reason_code": None})


def test_prevalidated_refuses_a_mutable_model() -> None:
    from pydantic import BaseModel

    class Loose(BaseModel):
        value: int

    with pytest.raises(TypeError, match="not frozen"):
        prevalidated(Loose, {"value": 1})
