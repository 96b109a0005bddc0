"""Builders for constructed logs: records stamped with chosen bus times, written in the bus's line format."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.paths import feed_path, stream_path
from shared.records import Callback, Decision, GateOutcome, Record, Signal, Trade


def at(text: str) -> datetime:
    """'2026-11-02 01:00' -> an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def bus_line(ts: datetime, record: Record | dict[str, Any]) -> bytes:
    """One line exactly as the bus writes it: the fixed-width stamp first, then the record's JSON."""
    data = record.to_json_dict() if isinstance(record, Record) else record
    body = json.dumps(data, separators=(",", ":"))
    stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f'{{"ts":"{stamp}",{body[1:]}\n'.encode()


class LogBuilder:
    """Collects (bus ts, record) per file and writes each file in ts order, as the bus would have."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.files: dict[Path, list[tuple[datetime, bytes]]] = {}

    def add(self, path: Path, ts: datetime, record: Record | dict[str, Any] | bytes) -> None:
        line = record if isinstance(record, bytes) else bus_line(ts, record)
        self.files.setdefault(path, []).append((ts, line))

    def stream(self, surface: str, name: str, ts: datetime, record: Record | dict[str, Any] | bytes) -> None:
        self.add(stream_path(self.log_dir, surface, name), ts, record)

    def feed(self, ts: datetime, record: Record) -> None:
        self.add(feed_path(self.log_dir, "callbacks"), ts, record)

    def write(self) -> None:
        for path, lines in self.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as handle:
                for _, line in sorted(lines, key=lambda item: item[0]):
                    handle.write(line)


def make_signal(signal_id: str, surface: str, *, p: float, sub: str = "weather", side: str = "yes",
                limit: str = "0.50", eta: float | None = None, published: str = "2026-11-01 00:00") -> Signal:
    moment = at(published)
    return Signal(id=signal_id, published_at=moment, expires_at=moment, surface=surface, sub_strategy=sub,
                  venue="sim", instrument=f"INST-{signal_id}", side=side, limit_price=Decimal(limit),
                  size_fraction=Decimal("0.01"), p_model=p, p_market=0.5, edge=0.05, confidence=0.7,
                  eta_hours=eta)


LIVE_VENUE_OF = {"kalshi_resolution": "kalshi", "nws_observation": "kalshi", "oanda_candles": "oanda",
                 "ibkr_position": "ibkr"}


def make_trade(trade_id: str, surface: str, *, status: str = "resolved", pnl: int | None = None, fees: int = 0,
               source: str | None = "sim", sub: str = "weather", opened: str | None = None,
               resolved: str | None = None, eta: float | None = None, side: str = "yes",
               venue: str | None = None, mode: str = "paper", count: int | None = None) -> Trade:
    # A real resolution source implies the live venue that settled it (a sim venue always tags ``sim``).
    venue = venue or LIVE_VENUE_OF.get(source or "sim", "sim")
    return Trade(id=trade_id, signal_id=f"S{trade_id}", client_order_id=f"C{trade_id}", status=status,
                 surface=surface, sub_strategy=sub, venue=venue, mode=mode, count=count,
                 instrument=f"INST-{trade_id}", side=side,
                 fees=fees, pnl=pnl, resolution_source=source if status == "resolved" else None,
                 opened_at=at(opened) if opened else None, resolved_at=at(resolved) if resolved else None,
                 eta_hours=eta)


def make_decision(candidate: str, surface: str, gates: list[tuple[str, bool, str | None]], *,
                  stopped_by: str | None = None, answers: list[dict[str, Any]] | None = None,
                  ensemble_p: float | None = None, decided: str = "2026-11-02 00:00") -> Decision:
    accepted = all(passed for _, passed, _ in gates) and stopped_by is None
    context: dict[str, Any] = {"model_answers": answers} if answers is not None else {}
    if ensemble_p is not None:
        context["ensemble"] = {"p": ensemble_p, "model_spread": 0.1}
    return Decision(decided_at=at(decided), surface=surface, sub_strategy="weather", instrument="X", side="yes",
                    candidate_id=candidate, accepted=accepted, stopped_by=stopped_by,
                    gates=tuple(GateOutcome(gate=g, passed=p, reason_code=r) for g, p, r in gates),
                    context=context)


def make_callback(subscriber: str, signal_id: str, kind: str, body: dict[str, Any],
                  received: str = "2026-11-02 12:00") -> Callback:
    return Callback(subscriber_id=subscriber, signal_id=signal_id, callback=kind, body=body,
                    received_at=at(received))


@pytest.fixture
def builder(log_dir: Path) -> Iterator[LogBuilder]:
    yield LogBuilder(log_dir)


Factory = Callable[..., Any]


class Kit:
    """The builders, handed to tests as one fixture (test modules cannot import this conftest by name)."""

    at = staticmethod(at)
    bus_line = staticmethod(bus_line)
    signal = staticmethod(make_signal)
    trade = staticmethod(make_trade)
    decision = staticmethod(make_decision)
    callback = staticmethod(make_callback)


@pytest.fixture
def kit() -> Kit:
    return Kit()


SCENARIO_GATES = ("stop_file", "dedup", "min_edge")


def build_scenario(b: LogBuilder) -> None:
    """The constructed fleet log the section tests work out by hand (window: 2026-11-02 .. 2026-11-03).

    Resolved trades (bus ts of the resolved record; pnl after fees, cents; they count on the venue day of their
    ``resolved_at``, shown in brackets):
      T0 kalshi_st weather sim      2026-11-01 09:00  +1000  (before the window)
      T1 kalshi_st weather sim      2026-11-02 01:00  +300  fees 20  p .70  eta 2h  actual 3h  [2025-01-01]
      T4 kalshi_st btc     kalshi   2026-11-02 03:00  +100  fees  5  p .55  eta -(signal 1h) actual 1h  [01-02]
      T2 kalshi_st weather sim      2026-11-02 05:00  -500  fees 30  p .60  eta 4h  actual 2h  [01-03]
      T3 kalshi_st weather sim      2026-11-03 02:00  +400  fees 10  p .80  eta 10h actual 5h  [01-04]
      T5 fx        atr     oanda    2026-11-03 10:00  -200  fees  0  p .60  no opened_at      [01-03]
      T6 kalshi_st weather sim      2026-11-04 01:00  +700  (after the window)
    """
    def resolved(tid: str, surface: str, ts: str, **kw: Any) -> None:
        b.stream(surface, "trades", at(ts), make_trade(tid, surface, **kw))

    # Earlier states of T1 inside the window: not resolutions, never counted.
    b.stream("kalshi_st", "trades", at("2026-11-02 00:10"), make_trade("1", "kalshi_st", status="filled"))
    resolved("0", "kalshi_st", "2026-11-01 09:00", pnl=1000, fees=1)
    resolved("1", "kalshi_st", "2026-11-02 01:00", pnl=300, fees=20, eta=2.0,
             opened="2025-01-01 00:00", resolved="2025-01-01 03:00")
    resolved("4", "kalshi_st", "2026-11-02 03:00", pnl=100, fees=5, source="kalshi_resolution", sub="btc",
             opened="2025-01-02 00:00", resolved="2025-01-02 01:00")
    resolved("2", "kalshi_st", "2026-11-02 05:00", pnl=-500, fees=30, eta=4.0,
             opened="2025-01-03 00:00", resolved="2025-01-03 02:00")
    resolved("3", "kalshi_st", "2026-11-03 02:00", pnl=400, fees=10, eta=10.0,
             opened="2025-01-04 00:00", resolved="2025-01-04 05:00")
    resolved("5", "fx", "2026-11-03 10:00", pnl=-200, fees=0, source="oanda_candles", sub="atr", eta=3.0,
             side="short", resolved="2025-01-03 10:00")
    resolved("6", "kalshi_st", "2026-11-04 01:00", pnl=700, fees=7)
    # A torn line (a writer killed mid-append) inside the window: skipped and counted.
    b.stream("kalshi_st", "trades", at("2026-11-02 02:00"), b'{"ts":"2026-11-02T02:00:00.000000Z","kind":"tr\n')

    # Signals: T1's was published before the window; the lookup must still find it.
    sig = [("1", "kalshi_st", 0.70, "2026-11-01 23:00", {}), ("4", "kalshi_st", 0.55, "2026-11-02 02:00",
           {"sub": "btc", "eta": 1.0}), ("2", "kalshi_st", 0.60, "2026-11-02 03:00", {}),
           ("3", "kalshi_st", 0.80, "2026-11-02 20:00", {}),
           ("5", "fx", 0.60, "2026-11-03 07:00", {"sub": "atr", "side": "short", "limit": "1.1000"}),
           ("0", "kalshi_st", 0.90, "2026-11-01 08:00", {}), ("6", "kalshi_st", 0.90, "2026-11-04 00:00", {})]
    for tid, surface, p, ts, kw in sig:
        b.stream(surface, "signals", at(ts), make_signal(f"S{tid}", surface, p=p, **kw))

    # Accepted decisions carrying the ensemble's answers, one minute before each signal.
    all_pass = [(g, True, None) for g in SCENARIO_GATES]
    b.stream("kalshi_st", "decisions", at("2026-11-01 22:59"), make_decision(
        "S1", "kalshi_st", all_pass, answers=[{"model": "a", "p": 0.7, "confidence": 0.6, "abstained": False},
                                              {"model": "b", "p": 0.5, "confidence": 0.0, "abstained": True}],
        ensemble_p=0.7))
    b.stream("kalshi_st", "decisions", at("2026-11-02 02:59"), make_decision(
        "S2", "kalshi_st", all_pass, answers=[{"model": "a", "p": 0.4, "confidence": 0.6, "abstained": False},
                                              {"model": "b", "p": 0.9, "confidence": 0.6, "abstained": False}],
        ensemble_p=0.65))
    # Gate funnel inside the window (the two accepted ones above are outside or inside: S2's is inside).
    b.stream("kalshi_st", "decisions", at("2026-11-02 10:00"), make_decision(
        "D2", "kalshi_st", [("stop_file", True, None), ("dedup", False, "duplicate")], stopped_by="dedup"))
    b.stream("kalshi_st", "decisions", at("2026-11-02 11:00"), make_decision(
        "D3", "kalshi_st", [("stop_file", True, None), ("dedup", True, None), ("min_edge", False, "edge_low")],
        stopped_by="min_edge"))
    b.stream("kalshi_st", "decisions", at("2026-11-02 12:00"), make_decision(
        "D4", "kalshi_st", [("stop_file", True, None), ("dedup", False, "duplicate"), ("min_edge", False, "edge_low")],
        stopped_by="dedup"))

    # Subscriber callbacks (S1: yes @ 0.50 on kalshi_st; S5: short @ 1.1000 on fx).
    cb = [("A", "S1", "ack", {}, "2026-11-02 01:00"), ("A", "S1", "executed",
          {"fill_price": "0.52", "quantity": 100, "fees_cents": 3}, "2026-11-02 01:01"),
          ("B", "S1", "ack", {}, "2026-11-02 01:02"), ("B", "S1", "executed",
          {"fill_price": "0.50", "quantity": 100, "fees_cents": 2}, "2026-11-02 01:03"),
          ("A", "S1", "resolved", {"pnl_cents": 45, "resolved_at": "2026-11-02T05:00:00Z"}, "2026-11-02 05:00"),
          ("B", "S1", "resolved", {"pnl_cents": -10, "resolved_at": "2026-11-02T05:00:00Z"}, "2026-11-02 05:01"),
          ("A", "S1", "ack", {}, "2026-11-02 06:00"),
          ("C", "S5", "executed", {"fill_price": "1.0989", "quantity": 1000, "fees_cents": 1}, "2026-11-03 07:01"),
          ("D", "S1", "ack", {}, "2026-11-05 00:00")]
    for sub, sid, kind, body, ts in cb:
        b.feed(at(ts), make_callback(sub, sid, kind, body, ts))
    b.write()


@pytest.fixture
def scenario(builder: LogBuilder) -> LogBuilder:
    build_scenario(builder)
    return builder
