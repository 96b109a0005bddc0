"""What LLM calls cost, the per-surface cost log, today's spend, and the answer cache persisted in that log.

Money: per-token prices are Decimal US dollars per million tokens; a call's cost is exact Decimal dollars
(``cost_usd``) and, for sums, integer micro-dollars rounded up (``cost_micro_usd``). Today's spend is reported in
integer US cents rounded up, the unit of ``API_COST_CAP_CENTS``: rounding up keeps the cap from failing open.

Days: spend is real money spent in real time, so "today" is measured on the bus's ``ts`` stamps (wall time),
from the day boundary the caller gives (midnight in ``DAY_BOUNDARY_TZ``: :func:`day_start`). Only today's part of
the log is read: :meth:`JsonlLog.seek` finds its first line by binary search.

Cache scope: the cost log is the cache's persistence. Every answered call is logged with its answer and cache key
(market, context hash, model); a restarted loop reloads the answers younger than the TTL from the log's tail, so
a restart never pays twice for the same question. Abstentions are not cached (asking again may succeed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from shared.ai.schema import LlmCost, ModelAnswer
from shared.ai.settings import ModelSpec
from shared.bus import JsonlLog
from shared.paths import open_stream
from shared.records import parse_record
from shared.timeutil import utcnow

log = logging.getLogger(__name__)

_PER_MILLION = Decimal(1_000_000)
MICRO_USD_PER_CENT = 10_000


def call_cost_usd(spec: ModelSpec, input_tokens: int, output_tokens: int) -> Decimal:
    """Exact cost of one call in US dollars: tokens × the configured per-million prices."""
    return (spec.input_usd_per_mtok * input_tokens + spec.output_usd_per_mtok * output_tokens) / _PER_MILLION


def to_micro_usd(cost_usd: Decimal) -> int:
    """Dollars to integer micro-dollars, rounded up."""
    return int((cost_usd * _PER_MILLION).to_integral_value(rounding=ROUND_CEILING))


def micro_usd_to_cents(micro_usd: int) -> int:
    """Micro-dollars to integer cents, rounded up (a cap compares against it)."""
    return -(-micro_usd // MICRO_USD_PER_CENT)


def day_start(now: datetime, tz_name: str = "UTC") -> datetime:
    """The most recent midnight in ``tz_name`` at or before ``now``, as an aware datetime."""
    local = now.astimezone(ZoneInfo(tz_name))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight


def _micro_of(data: dict[str, Any], ts: str) -> int | None:
    """The micro-dollars of a cost line. Only the one field a sum needs is checked (a full record validation
    per line made the daily sum ~10x slower); a line whose amount is not a non-negative integer is skipped."""
    if data.get("kind") != LlmCost.KIND:
        return None
    micro = data.get("cost_micro_usd")
    if isinstance(micro, bool) or not isinstance(micro, int) or micro < 0:
        log.warning("skipped a cost record without a valid cost_micro_usd, stamped %s", ts)
        return None
    return micro


def spend_today_cents(log_dir: Path, surface: str, day_boundary: datetime) -> int:
    """LLM spend of one surface since ``day_boundary`` (wall time), integer US cents rounded up.

    The API-cost-cap gate compares this with ``API_COST_CAP_CENTS``. Reads only the log's part since the boundary.
    """
    costs = open_stream(log_dir, surface, "costs")
    total = 0
    for entry in costs.reader(costs.seek(day_boundary)).read():
        micro = _micro_of(entry.data, entry.ts)
        if micro is not None:
            total += micro
    return micro_usd_to_cents(total)


class SpendTracker:
    """Today's spend of one surface, kept up to date incrementally (one seek a day, then only new lines)."""

    def __init__(self, costs: JsonlLog) -> None:
        self._costs = costs
        self._boundary: datetime | None = None
        self._offset = 0
        self._micro = 0

    def micro_usd_since(self, boundary: datetime) -> int:
        """Micro-dollars spent since ``boundary``; a new boundary (a new day) re-seeks."""
        if boundary != self._boundary:
            self._boundary = boundary
            self._offset = self._costs.seek(boundary)
            self._micro = 0
        reader = self._costs.reader(self._offset)
        for entry in reader.read():
            micro = _micro_of(entry.data, entry.ts)
            if micro is not None:
                self._micro += micro
        self._offset = reader.offset
        return self._micro

    def cents_since(self, boundary: datetime) -> int:
        """Spend since ``boundary`` in integer cents, rounded up."""
        return micro_usd_to_cents(self.micro_usd_since(boundary))


CacheKey = tuple[str, str, str]
"""(market id, context hash, model)."""


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    at: datetime
    p: float
    confidence: float
    rationale: str


class AnswerCache:
    """Answers by (market, context hash, model), valid for ``ttl`` on the ensemble's clock."""

    def __init__(self, ttl: timedelta) -> None:
        self.ttl = ttl
        self._entries: dict[CacheKey, CachedAnswer] = {}

    def get(self, key: CacheKey, now: datetime) -> CachedAnswer | None:
        """A fresh answer, or None (expired entries are dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now - entry.at >= self.ttl or entry.at > now:
            del self._entries[key]
            return None
        return entry

    def put(self, key: CacheKey, entry: CachedAnswer) -> None:
        if self.ttl > timedelta(0):
            self._entries[key] = entry

    def __len__(self) -> int:
        return len(self._entries)

    def load(self, costs: JsonlLog, now: datetime) -> int:
        """Reload the answers younger than the TTL from the cost log; returns how many were loaded."""
        if self.ttl <= timedelta(0):
            return 0
        # The log is ordered by wall-time stamps; ``now`` may be a test or replay clock behind the wall.
        since = min(now, utcnow()) - self.ttl
        loaded = 0
        for entry in costs.reader(costs.seek(since)).read():
            if entry.data.get("kind") != LlmCost.KIND or entry.data.get("outcome") != "answered":
                continue
            try:
                record = parse_record(LlmCost, entry.data, entry.ts)
                answer = dict(record.answer or {})
                cached = CachedAnswer(
                    at=record.at,
                    p=float(answer["p"]),
                    confidence=float(answer["confidence"]),
                    rationale=str(answer.get("rationale", "")),
                )
            except (ValidationError, KeyError, TypeError, ValueError):
                log.warning("skipped an unreadable cached answer stamped %s", entry.ts)
                continue
            if now - cached.at < self.ttl and cached.at <= now:
                self._entries[(record.market_id, record.context_hash, record.model)] = cached
                loaded += 1
        return loaded


def cost_record(*, surface: str, at: datetime, market_id: str, context_hash: str, answer: ModelAnswer) -> LlmCost:
    """The cost-log line for one paid call (answered or abstained)."""
    payload = None
    if not answer.abstained and answer.p is not None:
        payload = {"p": answer.p, "confidence": answer.confidence, "rationale": answer.rationale}
    return LlmCost(
        surface=surface,
        at=at,
        provider=answer.provider,
        model=answer.model,
        market_id=market_id,
        context_hash=context_hash,
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
        cost_usd=answer.cost_usd,
        cost_micro_usd=to_micro_usd(answer.cost_usd),
        latency_ms=answer.latency_ms,
        attempts=answer.attempts,
        outcome="abstained" if answer.abstained else "answered",
        reason=answer.reason,
        answer=payload,
    )
