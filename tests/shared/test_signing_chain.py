"""The per-surface hash chain over published signals: an edited, a deleted and an inserted signal are caught."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.bus import JsonlLog
from shared.ids import new_id
from shared.records import Signal, parse_record
from shared.signing import ChainCheck, chain, sign_signal, signal_hash, verify_signal

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key()


def raw(n: int, surface: str = "kalshi_st", **fields: Any) -> Signal:
    at = T0 + timedelta(minutes=n)
    base: dict[str, Any] = {
        "id": new_id(at), "published_at": at, "expires_at": at + timedelta(seconds=600), "surface": surface,
        "sub_strategy": "weather", "venue": "sim", "instrument": f"KX-{surface}-{n}", "side": "yes",
        "limit_price": Decimal("0.40"), "size_fraction": Decimal("0.02"), "p_model": 0.5, "p_market": 0.4,
        "edge": 0.1, "confidence": 0.7,
    }
    if surface == "fx":
        base |= {"sub_strategy": "fx_atr_trend", "instrument": "EUR_USD", "side": "long",
                 "limit_price": Decimal("1.10000"), "stop_loss": Decimal("1.09000"), "take_profit": Decimal("1.12000")}
    return Signal(**(base | fields))


def published(count: int = 6, surface: str = "kalshi_st", start: int = 0) -> list[Signal]:
    out: list[Signal] = []
    for n in range(start, start + count):
        out.append(chain(raw(n, surface), out[-1] if out else None, KEY))
    return out


def check(signals: list[Signal], *, complete: bool = True, witnesses: list[Signal] | None = None) -> ChainCheck:
    result = ChainCheck(PUBLIC, complete=complete, witnesses=witnesses or [])
    for signal in signals:
        result.add(signal)
    return result


def test_an_intact_history_verifies_in_any_order() -> None:
    st, fx = published(6), published(3, "fx", start=10)
    result = check([*reversed(st), *fx])
    assert result.breaks() == [] and result.linked == 7
    assert result.summary() == "history verified: 9 signals, chain intact"


def test_signals_from_before_the_chain_still_verify() -> None:
    legacy = sign_signal(raw(0), KEY)
    data = legacy.to_json_dict()
    data.pop("prev_hash")  # as written before the field existed
    assert verify_signal(parse_record(Signal, data), PUBLIC)
    linked = chain(raw(1), legacy, KEY)
    assert verify_signal(linked, PUBLIC)
    tampered = linked.model_copy(update={"prev_hash": "0" * 64})
    assert not verify_signal(tampered, PUBLIC), "prev_hash is covered by the signature"
    assert check([legacy, linked]).breaks() == []


def test_an_edited_signal_is_caught() -> None:
    history = published(6)
    edited = history[2].model_copy(update={"limit_price": Decimal("0.10")})
    # Edited without the key: its signature fails, and it is named.
    without_key = check([*history[:2], edited, *history[3:]]).breaks()
    assert without_key[0].signal_id == history[2].id and "signature" in without_key[0].reason
    # Edited and re-signed by the operator: the next signal no longer links to it.
    resigned = sign_signal(edited, KEY)
    found = check([*history[:2], resigned, *history[3:]]).breaks()
    assert found[0].signal_id == history[3].id and "edited or removed" in found[0].reason
    # A subscriber holding the copy it received names the edited signal itself.
    seen = check([*history[:2], resigned, *history[3:]], complete=False, witnesses=[history[2]]).breaks()
    assert seen[0].signal_id == history[2].id and "differs from the copy" in seen[0].reason


def test_a_deleted_signal_is_caught() -> None:
    history = published(6)
    pruned = [s for s in history if s.id != history[3].id]
    found = check(pruned).breaks()
    assert [b.signal_id for b in found] == [history[4].id]
    assert check(pruned).summary().startswith(f"history broken at {history[4].id} (kalshi_st)")
    # The subscriber's view (resolved signals only): a gap, until the missing signal shows or a witness fills it.
    partial = check(pruned, complete=False)
    assert partial.breaks() == [] and partial.gaps() == [("kalshi_st", history[4].id)]
    assert "1 signal(s) link to one not in this history" in partial.summary()
    assert check(pruned, complete=False, witnesses=[history[3]]).gaps() == []


def test_an_inserted_signal_is_caught() -> None:
    history = published(6)
    backfilled = chain(raw(99, instrument="KX-WINNER", published_at=history[2].published_at + timedelta(seconds=1)),
                       history[2], KEY)
    found = check([*history[:3], backfilled, *history[3:]]).breaks()
    assert [b.signal_id for b in found] == [backfilled.id]
    assert "inserted" in found[0].reason


def test_a_restarted_chain_is_caught() -> None:
    first = published(3)
    second = published(3, start=20)  # a new chain start that later signals link to: the history was cut
    found = check([*first, *second]).breaks()
    assert [b.signal_id for b in found] == [second[0].id] and "starts again" in found[0].reason


def test_the_publisher_chains_across_a_restart(tmp_path: Path) -> None:
    from shared.clock import WallClock
    from surfaces.publish import SignalPublisher

    log = JsonlLog(tmp_path / "signals.jsonl")
    first = SignalPublisher(log, KEY, WallClock(), dry_run=True, venue="sim")
    out = [first.publish(sign_signal(raw(n), KEY)) for n in range(3)]
    assert out[0].prev_hash == "" and out[1].prev_hash == signal_hash(out[0])
    restarted = SignalPublisher(JsonlLog(tmp_path / "signals.jsonl"), KEY, WallClock(), dry_run=True, venue="sim")
    out.append(restarted.publish(sign_signal(raw(3), KEY)))
    assert out[3].prev_hash == signal_hash(out[2])
    from_log = [parse_record(Signal, e.data) for e in JsonlLog(tmp_path / "signals.jsonl").read_all()]
    result = check(from_log)
    assert result.breaks() == [] and result.linked == 3


@pytest.mark.parametrize("bad", ["x" * 65])
def test_prev_hash_is_bounded(bad: str) -> None:
    with pytest.raises(ValueError):
        raw(0, prev_hash=bad)
