"""The subscriber in control: pause/resume, max open positions, flatten-all through the durable close lifecycle
(a crash before and after the close is sent), the equity stop, and the CLI commands around them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from client.brokers import PaperBroker
from client.control import ControlLog, RunLock
from client.engine import Follower
from client.ledger import Ledger
from client.store import StatePaths
from shared.bus import Durability, JsonlLog
from shared.ids import derive_id
from shared.records import Signal
from shared.signing import load_public_key
from shared.timeutil import to_iso, utcnow
from shared.venues.base import OrderRequest, OrderResult

REPO = Path(__file__).resolve().parents[2]


class Crash(BaseException):
    """Stands in for SIGKILL inside one process."""


class CrashingCloser:
    """The paper broker, dying just before or just after a close reaches it."""

    def __init__(self, inner: PaperBroker, when: str) -> None:
        self.inner, self.when, self.name = inner, when, "paper"

    def place(self, request: OrderRequest, signal: Signal) -> OrderResult:
        return self.inner.place(request, signal)

    def lookup(self, client_order_id: str) -> OrderResult | None:
        return self.inner.lookup(client_order_id)

    def close(self, request: OrderRequest, signal: Signal) -> OrderResult:
        if self.when == "before":
            raise Crash
        self.inner.close(request, signal)
        raise Crash

    def usd_rate(self, pair: str) -> Decimal | None:
        return None


def paper(config: Any) -> PaperBroker:
    StatePaths(config.state_dir).ensure()
    return PaperBroker(JsonlLog(config.state_dir / "paper_orders.jsonl", Durability.FSYNC), config.broker)


def follower(config: Any, broker: Any = None) -> Follower:
    result = Follower(config, broker or paper(config), load_public_key(config.public_key_path.read_text()))
    result.recover()
    return result


def orders(config: Any) -> list[dict[str, Any]]:
    return [e.data for e in StatePaths(config.state_dir).log("orders").read_all()]


def paper_orders(config: Any) -> list[dict[str, Any]]:
    return [e.data for e in JsonlLog(config.state_dir / "paper_orders.jsonl").read_all()]


def control_events(config: Any) -> list[dict[str, Any]]:
    return [e.data for e in JsonlLog(config.state_dir / "control.jsonl").read_all()]


def rebuilt(config: Any) -> Ledger:
    paths = StatePaths(config.state_dir)
    return Ledger.rebuild([*paths.log("orders").read_all(), *paths.log("money").read_all()], config.commission_rate)


def open_three(config: Any, make_signal: Any, f: Follower) -> list[Signal]:
    signals = [make_signal(instrument="KX-A", limit_price=Decimal("0.40")),
               make_signal(instrument="KX-A", limit_price=Decimal("0.41")),
               make_signal(surface="stocks", sub_strategy="stk", instrument="F", side="long",
                           limit_price=Decimal("20.00"), stop_loss=Decimal("19.00"), take_profit=Decimal("21.00"))]
    for signal in signals:
        assert f.handle(signal.to_json_dict()).verdict == "traded"
    assert len(f.ledger.positions) == 3
    return signals


def test_pause_and_resume(make_config, make_signal) -> None:
    config = make_config()
    f = follower(config)
    ControlLog(config.state_dir).pause(utcnow(), "tbot-client pause")  # as another process would
    f.refresh()
    skipped = f.handle(make_signal().to_json_dict())
    assert (skipped.verdict, skipped.skip_reason) == ("skipped", "paused")
    ControlLog(config.state_dir).resume(utcnow())
    f.refresh()
    assert f.handle(make_signal().to_json_dict()).verdict == "traded"


def test_max_open_positions(make_config, make_signal) -> None:
    config = make_config(control={"max_open_positions": 2})
    f = follower(config)
    assert [f.handle(make_signal().to_json_dict()).verdict for _ in range(2)] == ["traded", "traded"]
    third = f.handle(make_signal().to_json_dict())
    assert (third.verdict, third.skip_reason) == ("skipped", "max_open_positions")


def test_flatten_closes_every_position_through_the_lifecycle(make_config, make_signal) -> None:
    config = make_config()
    f = follower(config)
    signals = open_three(config, make_signal, f)
    request = f.control.request_flatten(utcnow(), "test")
    outcomes = f.flatten_pending()
    assert [o.verdict for o in outcomes] == ["closed"] * 3
    assert f.ledger.positions == {}
    assert request not in f.control.refresh().flatten_pending

    # The two KX-A positions are one holding at a venue: one close order, its id derived from the first trade's.
    closes = [o for o in paper_orders(config) if o["reason"].startswith("close")]
    assert len(closes) == 2
    intents = [e for e in control_events(config) if e["type"] == "close_intent"]
    assert {i["signal_id"] for i in intents} == {s.id for s in signals}
    first_a = min(s.id for s in signals[:2])
    assert {i["client_order_id"] for i in intents if i["signal_id"] in {s.id for s in signals[:2]}} == {
        derive_id("close", f"{derive_id('trade', first_a)}:{request}")}
    # Without a quote, exits are the signal's price moved against the subscriber: YES sold at the price − $0.01
    # (the holding's first signal's), the long at − 0.02 % rounded to the cent ($20.00 − $0.004 = $20.00).
    resolved = {o["signal_id"]: o for o in orders(config) if o["status"] == "resolved"}
    head = next(s for s in signals if s.id == first_a)
    expected_a = format(head.limit_price - Decimal("0.01"), "f")
    assert resolved[signals[0].id]["exit_price"] == resolved[signals[1].id]["exit_price"] == expected_a
    assert resolved[signals[2].id]["exit_price"] == "20.00"
    assert all(o["reason"].startswith("flattened") for o in resolved.values())
    assert rebuilt(config).snapshot() == f.ledger.snapshot()
    assert {m.key for m in f.outbox.pending()} >= {f"resolved:{s.id}" for s in signals}


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_mid_flatten_closes_once(make_config, make_signal, when: str) -> None:
    config = make_config()
    f = follower(config)
    signals = open_three(config, make_signal, f)
    f.control.request_flatten(utcnow(), "test")
    crashing = Follower(config, CrashingCloser(paper(config), when), f.public_key)
    with pytest.raises(Crash):
        crashing.recover()  # the pending flatten starts; the process dies around the first close
    assert [e for e in control_events(config) if e["type"] == "close_intent"], "the intent came first"
    sent = len([o for o in paper_orders(config) if o["reason"].startswith("close")])
    assert sent == (1 if when == "after" else 0)

    restarted = follower(config)  # recover(): asks the broker by the close's id, then finishes
    assert restarted.ledger.positions == {}
    closes = Counter(o["client_order_id"] for o in paper_orders(config) if o["reason"].startswith("close"))
    assert len(closes) == 2 and set(closes.values()) == {1}, "one close per holding, none twice"
    resolved = Counter(o["signal_id"] for o in orders(config) if o["status"] == "resolved")
    assert resolved == Counter({s.id: 1 for s in signals})
    assert rebuilt(config).snapshot() == restarted.ledger.snapshot()
    assert not restarted.control.state.flatten_pending


def test_history_does_not_resolve_a_position_whose_close_is_in_flight(make_config, make_signal) -> None:
    config = make_config()
    f = follower(config)
    signal = make_signal()
    f.handle(signal.to_json_dict())
    f.control.request_flatten(utcnow(), "test")
    with pytest.raises(Crash):
        Follower(config, CrashingCloser(paper(config), "after"), f.public_key).recover()
    f.refresh()
    item = {"signal": signal.to_json_dict(), "outcome": "win", "resolved_at": to_iso(utcnow())}
    assert f.apply_history([item]) == []


def test_the_equity_stop_flattens_and_pauses_once(make_config, make_signal) -> None:
    config = make_config(control={"equity_stop_fraction": "0.99"}, sizing={"fixed_cents": 1_500})
    f = follower(config)
    loser, other = make_signal(instrument="KX-LOSE"), make_signal(instrument="KX-OPEN")
    f.handle(loser.to_json_dict())
    f.handle(other.to_json_dict())
    assert f.check_equity_stop() == []  # equity at cost: $1,000 − entry fees, above $990
    lost = f.apply_history([{"signal": loser.to_json_dict(), "outcome": "loss", "resolved_at": to_iso(utcnow())}])
    assert lost[0].verdict == "resolved"
    outcomes = f.check_equity_stop()
    assert [o.verdict for o in outcomes] == ["equity_stop", "closed"]
    assert f.ledger.positions == {} and f.control.state.paused
    assert f.check_equity_stop() == [], "disarmed until equity is back above the level"
    skipped = f.handle(make_signal().to_json_dict())
    assert skipped.skip_reason == "equity_stop"
    kinds = [e["type"] for e in control_events(config)]
    assert kinds.count("equity_stop") == 1 and "pause" in kinds and "flatten_done" in kinds


def test_one_run_at_a_time(tmp_path: Path) -> None:
    first, second = RunLock(tmp_path), RunLock(tmp_path)
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def _cli(config_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "client.cli", "--config", str(config_path), *args], cwd=REPO,
                          env=os.environ | env, capture_output=True, text=True, timeout=120)


def test_flatten_command_killed_mid_close_then_run_again(make_config, make_signal) -> None:
    config = make_config()
    f = follower(config)
    open_three(config, make_signal, f)
    killed = _cli(config.source, "flatten", TBOT_CLIENT_FAULT="after_close")
    assert killed.returncode == -9
    done = _cli(config.source, "--json", "flatten")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["flattened"] is True
    closes = Counter(o["client_order_id"] for o in paper_orders(config) if o["reason"].startswith("close"))
    assert len(closes) == 2 and set(closes.values()) == {1}
    status = _cli(config.source, "status")
    assert "no open positions" in status.stdout and "PAUSED" in status.stdout
    assert _cli(config.source, "resume").returncode == 0
    assert "trading on" in _cli(config.source, "status").stdout


def test_status_lists_positions_and_skips_and_survives_a_closed_pipe(make_config, make_signal) -> None:
    config = make_config(control={"max_open_positions": 1})
    f = follower(config)
    f.handle(make_signal(instrument="KX-HELD").to_json_dict())
    f.handle(make_signal(instrument="KX-TOO-MANY").to_json_dict())
    f.handle(make_signal(published_at=utcnow() - timedelta(minutes=11)).to_json_dict())
    plain = _cli(config.source, "status")
    assert "KX-HELD" in plain.stdout and "signals not traded, by reason:" in plain.stdout
    assert "max_open_positions" in plain.stdout and "expired" in plain.stdout
    data = json.loads(_cli(config.source, "--json", "status").stdout)
    assert [p["instrument"] for p in data["positions"]] == ["KX-HELD"]
    assert data["skipped"] == {"max_open_positions": 1, "expired": 1}

    # ``tbot-client --json status | head -c0``: the reader is gone before the output is written.
    proc = subprocess.Popen([sys.executable, "-m", "client.cli", "--config", str(config.source), "--json", "status"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(60)
    assert "Traceback" not in err and "BrokenPipeError" not in err


class DiesOnPlace(CrashingCloser):
    """Dies as the order leaves: the intent is on disk, the broker never saw the order."""

    def place(self, request: OrderRequest, signal: Signal) -> OrderResult:
        raise Crash


@pytest.mark.parametrize("when", ["accepted", "intent"])
def test_a_pause_holds_across_a_restart_for_orders_never_sent(make_config, make_signal, when: str) -> None:
    config = make_config()
    f = follower(config)
    signal = make_signal(instrument="KX-UNSENT")
    if when == "accepted":  # accepted, then the process died before sizing: no intent
        f._note(signal.id, "accepted", "verified", final=False, data=signal.to_json_dict())
    else:
        with pytest.raises(Crash):
            Follower(config, DiesOnPlace(paper(config), "before"), f.public_key).handle(signal.to_json_dict())
        assert [o["status"] for o in orders(config)] == ["intent"]
    ControlLog(config.state_dir).pause(utcnow(), "tbot-client pause")
    restarted = follower(config)
    assert paper_orders(config) == [], "nothing sent while paused"
    assert restarted.ledger.positions == {}
    statuses = [o["status"] for o in orders(config) if o["signal_id"] == signal.id]
    assert statuses == ([] if when == "accepted" else ["intent", "cancelled"])


class OandaLikeVenue:
    """A venue that, like OANDA, gives a close no client order id: after a crash mid-close the close cannot be looked
    up by its id, only seen as the position gone and a closing fill."""

    name = "oanda"

    def __init__(self) -> None:
        self.open: dict[str, tuple[OrderRequest, Decimal]] = {}
        self.opened: dict[str, OrderResult] = {}
        self.fill_log: list[Any] = []
        self.closes = 0

    def place_order(self, request: OrderRequest) -> OrderResult:
        price = request.limit_price or Decimal("1.1000")
        result = OrderResult(request.client_order_id, f"v-{len(self.opened)}", "filled", request.quantity, price, 0,
                             utcnow())
        self.open[request.client_order_id] = (request, price)
        self.opened[request.client_order_id] = result
        return result

    def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        return self.opened.get(client_order_id)  # opens only: a close carries no client id here

    def positions(self) -> list[Any]:
        from shared.venues.base import Position

        return [Position(r.symbol, r.side, r.quantity, p, coid) for coid, (r, p) in self.open.items()]

    def close_position(self, symbol: str, client_order_id: str, venue_position_id: str | None = None) -> OrderResult:
        from shared.venues.base import Fill

        held = [(coid, r) for coid, (r, _) in self.open.items() if r.symbol == symbol]
        if not held:
            return OrderResult(client_order_id, "", "rejected", 0, None, 0, utcnow(), "no_open_position")
        self.closes += 1
        quantity = sum(r.quantity for _, r in held)
        for coid, request in held:
            del self.open[coid]
            self.fill_log.append(Fill(f"c-{self.closes}", None, symbol, request.side, "close", request.quantity,
                                      Decimal("1.1010"), 0, utcnow()))
        return OrderResult(client_order_id, f"c-{self.closes}", "filled", quantity, Decimal("1.1010"), 0, utcnow())

    def fills(self, since: Any = None) -> list[Any]:
        return [f for f in self.fill_log if since is None or f.at >= since]

    def quote(self, symbol: str) -> Any:
        from shared.venues.base import VenueError

        raise VenueError(self.name, "no quotes in this fake")


class DiesAfterClose:
    def __init__(self, inner: Any) -> None:
        self.inner, self.name = inner, inner.name

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)

    def close(self, request: OrderRequest, signal: Signal) -> OrderResult:
        self.inner.close(request, signal)
        raise Crash


def test_a_close_the_broker_cannot_find_by_id_is_found_by_its_fills(make_config, make_signal) -> None:
    from client.brokers import VenueBroker

    config = make_config()
    venue = OandaLikeVenue()
    f = Follower(config, VenueBroker(venue), load_public_key(config.public_key_path.read_text()))  # type: ignore[arg-type]
    f.recover()
    signal = make_signal(surface="fx", sub_strategy="fx_atr_trend", instrument="EUR_USD", side="long",
                         limit_price=Decimal("1.1000"), stop_loss=Decimal("1.0950"), take_profit=Decimal("1.1100"))
    assert f.handle(signal.to_json_dict()).verdict == "traded"
    f.control.request_flatten(utcnow(), "test")
    dying = Follower(config, DiesAfterClose(VenueBroker(venue)), f.public_key)  # type: ignore[arg-type]
    with pytest.raises(Crash):
        dying.recover()  # the close reached the venue; the process died before recording it
    assert venue.closes == 1 and not venue.open

    restarted = Follower(config, VenueBroker(venue), f.public_key)  # type: ignore[arg-type]
    restarted.recover()
    assert venue.closes == 1, "the close was found by its fill, not sent again"
    assert restarted.ledger.positions == {}
    [resolved] = [o for o in orders(config) if o["status"] == "resolved"]
    assert resolved["exit_price"] == "1.1010"
    assert not restarted.control.state.flatten_pending
