"""Cost arithmetic, today's spend read from the log's tail, the day boundary, and the cache's TTL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from shared.ai.costs import (
    AnswerCache,
    CachedAnswer,
    SpendTracker,
    call_cost_usd,
    cost_record,
    day_start,
    micro_usd_to_cents,
    spend_today_cents,
    to_micro_usd,
)
from shared.ai.schema import ModelAnswer
from shared.ai.settings import ModelSpec
from shared.paths import open_stream, stream_path
from shared.timeutil import to_iso, utcnow

SPEC = ModelSpec("anthropic", "claude-sonnet-4-6", 0.4, Decimal(3), Decimal(15))
SURFACE = "fx"


def paid(micro: int, model: str = "claude-sonnet-4-6", p: float | None = 0.6) -> ModelAnswer:
    return ModelAnswer(
        model=model,
        provider="anthropic",
        weight=1.0,
        p=p,
        confidence=None if p is None else 0.5,
        abstained=p is None,
        reason=None if p is not None else "unparseable",
        cost_usd=Decimal(micro) / 1_000_000,
        input_tokens=10,
        output_tokens=1,
    )


def raw_line(ts: datetime, micro: int) -> str:
    """A cost line as the bus writes it, stamped at an arbitrary (past) time."""
    record = cost_record(surface=SURFACE, at=ts, market_id="EUR_USD", context_hash="h", answer=paid(micro))
    body = json.dumps(record.to_json_dict(), separators=(",", ":"))
    return '{"ts":"' + to_iso(ts) + '",' + body[1:] + "\n"


def test_call_cost_is_exact_decimal() -> None:
    assert call_cost_usd(SPEC, 1234, 567) == Decimal("0.012207")  # 1234*3e-6 + 567*15e-6
    assert call_cost_usd(SPEC, 0, 0) == 0
    assert to_micro_usd(Decimal("0.0000001")) == 1  # rounded up: the cap never under-counts
    assert to_micro_usd(Decimal("0.012207")) == 12207
    assert micro_usd_to_cents(0) == 0 and micro_usd_to_cents(1) == 1 and micro_usd_to_cents(10_000) == 1
    assert micro_usd_to_cents(10_001) == 2


def test_day_start_in_a_time_zone() -> None:
    now = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)
    assert day_start(now) == datetime(2026, 11, 21, tzinfo=UTC)
    ny = day_start(now, "America/New_York")  # 22:30 the day before in New York
    assert ny.astimezone(UTC) == datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def test_spend_today_reads_only_today(log_dir: Path) -> None:
    today = day_start(utcnow())
    path = stream_path(log_dir, SURFACE, "costs")
    path.parent.mkdir(parents=True)
    # Yesterday's heavy spend must not count against today's cap.
    path.write_text("".join(raw_line(today - timedelta(hours=h), 900_000) for h in (20, 10, 1)))
    assert spend_today_cents(log_dir, SURFACE, today) == 0
    log = open_stream(log_dir, SURFACE, "costs")
    log.append(cost_record(surface=SURFACE, at=utcnow(), market_id="M", context_hash="h", answer=paid(25_000)))
    log.append({"kind": "something_else", "cost_micro_usd": 10**9})  # other kinds are ignored
    log.append({"kind": "llm_cost", "cost_micro_usd": "lots"})  # an invalid amount is skipped, not a crash
    log.append(cost_record(surface=SURFACE, at=utcnow(), market_id="M", context_hash="h", answer=paid(5_001)))
    assert spend_today_cents(log_dir, SURFACE, today) == 4  # 30001 micro-dollars, rounded up
    assert spend_today_cents(log_dir, SURFACE, today - timedelta(days=1)) == 4 + 270
    assert spend_today_cents(log_dir, "stocks", today) == 0  # per surface


def test_spend_tracker_is_incremental_and_resets_on_a_new_day(log_dir: Path) -> None:
    log = open_stream(log_dir, SURFACE, "costs")
    tracker = SpendTracker(log)
    today = day_start(utcnow())
    assert tracker.cents_since(today) == 0
    log.append(cost_record(surface=SURFACE, at=utcnow(), market_id="M", context_hash="h", answer=paid(20_000)))
    assert tracker.micro_usd_since(today) == 20_000
    log.append(cost_record(surface=SURFACE, at=utcnow(), market_id="M", context_hash="h", answer=paid(1)))
    assert tracker.micro_usd_since(today) == 20_001 and tracker.cents_since(today) == 3
    tomorrow = today + timedelta(days=1)
    assert tracker.micro_usd_since(tomorrow) == 0


def test_cache_ttl_and_reload(log_dir: Path) -> None:
    now = utcnow()
    cache = AnswerCache(timedelta(minutes=10))
    key = ("M", "h", "claude-sonnet-4-6")
    cache.put(key, CachedAnswer(at=now, p=0.3, confidence=0.4, rationale="r"))
    assert cache.get(key, now + timedelta(minutes=9)) is not None
    assert cache.get(key, now + timedelta(minutes=10)) is None and len(cache) == 0
    log = open_stream(log_dir, SURFACE, "costs")
    log.append(cost_record(surface=SURFACE, at=now, market_id="M", context_hash="h", answer=paid(10)))
    log.append(cost_record(surface=SURFACE, at=now, market_id="N", context_hash="h", answer=paid(10, p=None)))
    reloaded = AnswerCache(timedelta(minutes=10))
    assert reloaded.load(log, now + timedelta(minutes=1)) == 1  # abstentions are not cached
    hit = reloaded.get(key, now + timedelta(minutes=1))
    assert hit is not None and hit.p == 0.6
    assert AnswerCache(timedelta(minutes=10)).load(log, now + timedelta(minutes=11)) == 0
    assert AnswerCache(timedelta(0)).load(log, now) == 0


def test_record_validation_rejects_a_bad_surface() -> None:
    with pytest.raises(ValueError):
        cost_record(surface="crypto", at=utcnow(), market_id="M", context_hash="h", answer=paid(1))
