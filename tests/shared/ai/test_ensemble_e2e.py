"""The ensemble end to end: build_ensemble from settings, the four real SDKs over mock httpx2 transports."""

from __future__ import annotations

import json
import math
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shared.ai.costs import day_start, spend_today_cents
from shared.ai.ensemble import Ensemble, build_ensemble
from shared.ai.schema import MarketQuestion
from shared.clock import SteppedClock
from shared.paths import stream_path
from shared.timeutil import utcnow

SURFACE = "kalshi_lt"
MODELS = ("claude-sonnet-4-6", "gpt-4o", "gemini-2.5-flash", "deepseek-v4-flash")


def question(market: str = "KXFEDDECISION-25DEC-H0", **context: Any) -> MarketQuestion:
    return MarketQuestion(
        market_id=market,
        question="Will the Fed hold rates at the December 2025 meeting?",
        p_market=0.62,
        category="macro",
        context=context or {"rules": "Resolves YES if the target range is unchanged.", "cme_fedwatch_hold": 0.6},
    )


class Harness:
    def __init__(self, kit: ModuleType, vendors: Any, log_dir: Path, **overrides: Any) -> None:
        self.kit = kit
        self.vendors = vendors
        self.log_dir = log_dir
        self.clock = SteppedClock(utcnow())
        self.sleeps: list[float] = []
        self.settings = kit.keyed_settings(log_dir, **overrides)
        self.ensemble = self.build()

    def build(self, grace_seconds: float = 0.2) -> Ensemble:
        return build_ensemble(
            self.settings,
            self.log_dir,
            SURFACE,
            self.clock,
            http_clients=self.vendors.clients(),
            sleep=self.sleeps.append,
            grace_seconds=grace_seconds,
        )

    def cost_lines(self) -> list[dict[str, Any]]:
        path = stream_path(self.log_dir, SURFACE, "costs")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def harness(kit: ModuleType, vendors: Any, log_dir: Path) -> Harness:
    return Harness(kit, vendors, log_dir)


def answer_all(vendors: Any, ps: tuple[float, float, float, float] = (0.6, 0.5, 0.55, 0.7)) -> None:
    for vendor, p, confidence in zip(vendors.all(), ps, (0.8, 0.6, 0.7, 0.5), strict=True):
        vendor.reply(p, confidence)


def test_weighted_mean_spread_confidence_and_cost_log(harness: Harness, vendors: Any) -> None:
    answer_all(vendors)
    result = harness.ensemble.predict(question())
    # Weights 0.4 / 0.25 / 0.2 / 0.15 (they sum to 1).
    assert result.p == pytest.approx(0.4 * 0.6 + 0.25 * 0.5 + 0.2 * 0.55 + 0.15 * 0.7)  # 0.58
    variance = 0.4 * 0.02**2 + 0.25 * 0.08**2 + 0.2 * 0.03**2 + 0.15 * 0.12**2
    assert result.model_spread == pytest.approx(math.sqrt(variance))
    assert result.confidence == pytest.approx(0.4 * 0.8 + 0.25 * 0.6 + 0.2 * 0.7 + 0.15 * 0.5)
    assert result.models == MODELS and not result.unreliable and not result.cost_capped
    assert result.p_for_side("yes") == result.p and result.p_for_side("no") == pytest.approx(1 - result.p)
    # Each vendor was asked once, in parallel; the prompt carries the question and context, not the price.
    for vendor in vendors.all():
        assert len(vendor.requests) == 1
        text = vendor.requests[0].content.decode()
        assert "Will the Fed hold rates" in text and "cme_fedwatch_hold" in text and "0.62" not in text
    # Usage x prices: 1000 input and 100 output tokens each (USD per million: 3/15, 2.5/10, 0.3/2.5, 0.28/0.42).
    expected_micro = {MODELS[0]: 4500, MODELS[1]: 3500, MODELS[2]: 550, MODELS[3]: 322}
    lines = harness.cost_lines()
    assert {line["model"]: line["cost_micro_usd"] for line in lines} == expected_micro
    assert {line["model"]: Decimal(line["cost_usd"]) for line in lines}[MODELS[3]] == Decimal("0.000322")
    assert all(line["kind"] == "llm_cost" and line["outcome"] == "answered" for line in lines)
    assert all(line["input_tokens"] == 1000 and line["output_tokens"] == 100 for line in lines)
    assert result.cost_usd == Decimal("0.008872")
    assert harness.ensemble.spend_today_cents() == 1  # 0.8872 cents, rounded up
    context = result.to_context()
    assert json.loads(json.dumps(context))["models"] == list(MODELS)


def test_429_is_retried_with_backoff(harness: Harness, vendors: Any, kit: ModuleType) -> None:
    answer_all(vendors)
    vendors.anthropic.then(kit.error(429), kit.error(429))
    result = harness.ensemble.predict(question())
    assert len(vendors.anthropic.requests) == 3
    assert harness.sleeps == [0.01, 0.02]  # exponential backoff from LLM_RETRY_BACKOFF_SECONDS
    claude = result.answers[0]
    assert not claude.abstained and claude.attempts == 3 and claude.p == 0.6
    assert result.models == MODELS


def test_retry_after_is_honoured(harness: Harness, vendors: Any, kit: ModuleType) -> None:
    answer_all(vendors)
    vendors.gemini.then(kit.error(503, {"retry-after": "0.5"}))
    result = harness.ensemble.predict(question())
    assert harness.sleeps == [0.5] and result.answers[2].attempts == 2 and not result.answers[2].abstained


def test_one_provider_down_degrades_to_the_others(harness: Harness, vendors: Any, kit: ModuleType) -> None:
    answer_all(vendors)
    vendors.openai.script = [kit.error(500)]
    result = harness.ensemble.predict(question())
    assert len(vendors.openai.requests) == 3  # 1 + LLM_MAX_RETRIES
    gpt = result.answers[1]
    assert gpt.abstained and gpt.reason == "server_error" and gpt.p is None and gpt.attempts == 3
    assert result.models == (MODELS[0], MODELS[2], MODELS[3])
    assert result.p == pytest.approx((0.4 * 0.6 + 0.2 * 0.55 + 0.15 * 0.7) / 0.75)
    assert "3 of 4 models answered" in result.reasons
    abstained = [line for line in harness.cost_lines() if line["outcome"] == "abstained"]
    assert [(line["model"], line["reason"], line["cost_micro_usd"]) for line in abstained] == [
        ("gpt-4o", "server_error", 0)
    ]


def test_malformed_answers_are_abstentions_never_a_half(harness: Harness, vendors: Any) -> None:
    vendors.anthropic.reply_text("I'd say about 70%.")
    vendors.openai.reply_text(json.dumps({"probability": 1.3, "confidence": 0.5, "rationale": "x"}))
    vendors.gemini.reply_text(json.dumps({"probability": 0.4, "rationale": "no confidence"}))
    vendors.deepseek.reply(0.8, 0.9)
    result = harness.ensemble.predict(question())
    reasons = [(a.model, a.abstained, a.reason) for a in result.answers]
    assert reasons == [
        (MODELS[0], True, "unparseable"),
        (MODELS[1], True, "out_of_range"),
        (MODELS[2], True, "unparseable"),
        (MODELS[3], False, None),
    ]
    assert result.p == 0.8 and result.models == (MODELS[3],)
    # One answer has no spread to report: None, not a 0 that would read as agreement.
    assert result.model_spread is None and result.opinions == "single model"
    # A malformed reply still used tokens: it is billed and logged.
    billed = {line["model"]: line["cost_micro_usd"] for line in harness.cost_lines()}
    assert billed[MODELS[0]] == 4500 and billed[MODELS[1]] == 3500


def test_timeout_a_hanging_provider_abstains_the_rest_answer(kit: ModuleType, vendors: Any, log_dir: Path) -> None:
    answer_all(vendors)
    vendors.deepseek.script = [kit.hang(1.5)]
    harness = Harness(kit, vendors, log_dir, llm_timeout_seconds=0.3)
    started = time.monotonic()
    result = harness.ensemble.predict(question())
    elapsed = time.monotonic() - started
    assert elapsed < 1.2  # 0.3 s deadline + 0.2 s grace, not the 1.5 s the vendor takes
    deepseek = result.answers[3]
    assert deepseek.abstained and deepseek.reason == "timeout"
    assert result.models == MODELS[:3]
    timed_out = [line for line in harness.cost_lines() if line["reason"] == "timeout"]
    assert len(timed_out) == 1


def test_sdk_read_timeout_abstains_without_retry(harness: Harness, vendors: Any, kit: ModuleType) -> None:
    answer_all(vendors)
    vendors.anthropic.script = [kit.read_timeout]
    result = harness.ensemble.predict(question())
    assert len(vendors.anthropic.requests) == 1 and harness.sleeps == []
    assert result.answers[0].reason == "timeout" and result.models == MODELS[1:]


def test_the_same_question_is_never_paid_for_twice(harness: Harness, vendors: Any) -> None:
    answer_all(vendors)
    first = harness.ensemble.predict(question())
    second = harness.ensemble.predict(question())
    assert vendors.request_count() == 4
    assert all(answer.cached for answer in second.answers) and second.cost_usd == 0
    assert second.p == first.p and second.models == first.models
    assert len(harness.cost_lines()) == 4  # a cache hit is not a cost
    # New research (a different context) is a different question.
    harness.ensemble.predict(question(news="the chair signalled a cut"))
    assert vendors.request_count() == 8
    # Another market with the same text is a different key too.
    harness.ensemble.predict(question(market="KXFEDDECISION-26JAN-H0"))
    assert vendors.request_count() == 12
    # After the TTL the answer is stale and asked again.
    harness.clock.advance(timedelta(seconds=harness.settings.llm_cache_ttl_seconds))
    harness.ensemble.predict(question())
    assert vendors.request_count() == 16


def test_the_cache_survives_a_restart(harness: Harness, vendors: Any) -> None:
    answer_all(vendors)
    first = harness.ensemble.predict(question())
    harness.ensemble.close()
    restarted = harness.build()
    again = restarted.predict(question())
    assert vendors.request_count() == 4
    assert again.p == first.p and all(answer.cached for answer in again.answers)


def test_disagreement_above_max_spread_is_flagged_unreliable(harness: Harness, vendors: Any) -> None:
    answer_all(vendors, (0.2, 0.9, 0.3, 0.85))
    result = harness.ensemble.predict(question())
    assert result.model_spread > harness.settings.max_model_spread
    assert result.unreliable and any("model spread" in reason for reason in result.reasons)


def test_cost_cap_stops_the_surface(kit: ModuleType, vendors: Any, log_dir: Path) -> None:
    answer_all(vendors)
    harness = Harness(kit, vendors, log_dir, api_cost_cap_cents=2)
    cap = harness.settings.api_cost_cap_cents
    boundary = day_start(utcnow(), harness.settings.day_boundary_tz)
    harness.ensemble.predict(question(market="M1"))  # 8872 micro-dollars: 1 cent rounded up
    assert spend_today_cents(log_dir, SURFACE, boundary) == 1 < cap
    harness.ensemble.predict(question(market="M2"))  # 17744 micro-dollars: 2 cents
    assert spend_today_cents(log_dir, SURFACE, boundary) == 2 >= cap
    before = vendors.request_count()
    capped = harness.ensemble.predict(question(market="M3"))
    assert vendors.request_count() == before  # nothing more is paid for today
    assert capped.cost_capped and capped.unreliable and capped.confidence == 0.0
    assert capped.models == ("offline-baseline",)
    assert all(a.reason == "cost_cap" for a in capped.answers if a.model != "offline-baseline")
    assert "daily API cost cap reached" in capped.reasons
    # Answers already paid for are free: the cache still serves them.
    cached = harness.ensemble.predict(question(market="M1"))
    assert vendors.request_count() == before and cached.models == MODELS and cached.cost_usd == 0
    assert all(answer.cached for answer in cached.answers) and cached.cost_capped
    # A restarted loop sees the same spend (it is in the log) and stays capped.
    assert harness.build().cost_capped()


def test_nobody_answers_offline_fallback_with_zero_confidence(harness: Harness, vendors: Any, kit: ModuleType) -> None:
    for vendor in vendors.all():
        vendor.script = [kit.error(401)]
    result = harness.ensemble.predict(question())
    assert result.models == ("offline-baseline",) and result.confidence == 0.0 and result.unreliable
    assert "no model answered" in result.reasons
    assert vendors.request_count() == 4  # 401 is not retried


def test_secrets_never_reach_the_cost_log(harness: Harness, vendors: Any, kit: ModuleType) -> None:
    answer_all(vendors)
    vendors.openai.script = [kit.error(401)]
    harness.ensemble.predict(question())
    text = stream_path(harness.log_dir, SURFACE, "costs").read_text()
    for secret in kit.KEYS.values():
        assert secret not in text


def test_keys_select_the_models(kit: ModuleType, vendors: Any, log_dir: Path) -> None:
    vendors.anthropic.reply(0.7)
    vendors.deepseek.reply(0.5)
    harness = Harness(kit, vendors, log_dir, openai_api_key=None, gemini_api_key="")
    assert harness.ensemble.models == (MODELS[0], MODELS[3])
    result = harness.ensemble.predict(question())
    assert result.p == pytest.approx((0.4 * 0.7 + 0.15 * 0.5) / 0.55)


def test_the_per_call_deadline_reaches_each_sdk_request(kit: ModuleType, vendors: Any, log_dir: Path) -> None:
    answer_all(vendors)
    harness = Harness(kit, vendors, log_dir, llm_timeout_seconds=7)
    harness.ensemble.predict(question())
    for vendor in vendors.all():
        timeout = vendor.requests[0].extensions["timeout"]
        assert 6.0 < timeout["read"] <= 7.0 and 6.0 < timeout["connect"] <= 7.0, vendor.name


def test_models_are_asked_in_parallel(harness: Harness, vendors: Any, kit: ModuleType) -> None:
    for vendor in vendors.all():
        reply = kit.httpx2.Response(200, json=kit.BODIES[vendor.name](kit.answer_json(0.5)))

        def slow(request: Any, reply: Any = reply) -> Any:
            time.sleep(0.4)
            return reply

        vendor.script = [slow]
    started = time.monotonic()
    result = harness.ensemble.predict(question())
    assert time.monotonic() - started < 1.2  # four 0.4 s calls one after another would take 1.6 s
    assert result.models == MODELS
