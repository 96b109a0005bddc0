"""The ensemble: ask every configured model in parallel, combine the answers, log what it cost.

Usage from a surface loop (``settings`` combines ``SurfaceSettings`` and :class:`EnsembleSettings`)::

    ensemble = build_ensemble(settings, settings.log_dir, "kalshi_lt", WallClock())
    result = ensemble.predict(MarketQuestion(market_id=ticker, question=title, p_market=yes_mid,
                                             category="politics", context={"rules": ..., "news": ...}))
    p_model = result.p_for_side(side)          # 1 - p for "no" / "short"
    # Signal/Decision: p_model, confidence=result.confidence, model_spread=result.model_spread,
    # models=result.models; Decision.context["ensemble"] = result.to_context()

How a prediction is made:

- Without any LLM key, the deterministic offline model answers alone, labelled ``offline-baseline``: a baseline
  built from the market's own price (``shared.ai.offline``), not a second opinion.
- With keys, each keyed model is asked in parallel (one thread each), with ``LLM_TIMEOUT_SECONDS`` per model,
  retries included. 429, 5xx and dropped connections are retried with exponential backoff (at least the
  server's ``Retry-After``) while the deadline allows. A model that times out, errs or returns anything but a
  valid answer abstains, with the reason recorded; the others carry on.
- ``p`` is the weighted mean of the answering models' probabilities and ``model_spread`` their weighted
  standard deviation (None when fewer than two answered: one opinion has no spread, and a 0 would read as
  agreement); ``confidence`` is the weighted mean of their confidences. Above ``MAX_MODEL_SPREAD`` the result is
  flagged ``unreliable`` (the confidence gate stops it through ``model_spread``).
- No market price reaches a model: ``MarketQuestion`` strips price-like context keys (``shared.ai.blind``) and
  the prompt never includes ``p_market``.
- If keys are configured but no model answered (outage, or the day's ``API_COST_CAP_CENTS`` is spent), the
  offline model's ``p`` is returned with ``confidence`` 0 and ``unreliable`` set, so the gates stop it; the
  signal's ``models`` then say ``offline-baseline``.
- Once today's spend reaches ``API_COST_CAP_CENTS`` no paid call is made until the day boundary.
- Every paid call is appended to ``logs/<surface>/costs.jsonl`` (tokens, exact dollars, micro-dollars); answers
  are cached by (market, context hash, model) for ``LLM_CACHE_TTL_SECONDS``, persisted through that log.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
from pydantic import SecretStr

from shared.ai.costs import AnswerCache, CachedAnswer, SpendTracker, call_cost_usd, cost_record, day_start
from shared.ai.offline import OfflineModel
from shared.ai.prompt import SYSTEM_PROMPT, AnswerError, parse_answer, user_prompt
from shared.ai.providers import Provider, ProviderError, make_provider
from shared.ai.schema import AbstainReason, EnsembleResult, MarketQuestion, ModelAnswer
from shared.ai.settings import OFFLINE_MODEL, EnsembleSettings
from shared.bus import JsonlLog
from shared.clock import Clock
from shared.config import ConfigError
from shared.paths import open_stream
from shared.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EnsemblePolicy:
    """Limits of one ensemble: timeouts, retries, output size, disagreement and the daily cost cap."""

    timeout_seconds: float = 20.0
    max_retries: int = 2
    backoff_seconds: float = 0.5
    max_output_tokens: int = 400
    max_spread: float = 0.15
    cost_cap_cents: int = 500
    day_boundary_tz: str = "UTC"
    cache_ttl_seconds: int = 3600
    grace_seconds: float = 1.0
    """Extra wait past the per-model deadline for a thread to return before it is counted as timed out."""


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Weighted combination of the answering models."""

    p: float
    spread: float
    confidence: float


def aggregate(answers: Sequence[ModelAnswer]) -> Aggregate | None:
    """Weighted mean, weighted (population) standard deviation and weighted mean confidence; None if none answered."""
    used = [a for a in answers if not a.abstained and a.p is not None and a.weight > 0]
    total = math.fsum(a.weight for a in used)
    if not used or total <= 0:
        return None
    mean = math.fsum(a.weight * (a.p or 0.0) for a in used) / total
    variance = math.fsum(a.weight * ((a.p or 0.0) - mean) ** 2 for a in used) / total
    confidence = math.fsum(a.weight * (a.confidence or 0.0) for a in used) / total
    return Aggregate(p=min(max(mean, 0.0), 1.0), spread=math.sqrt(variance), confidence=min(max(confidence, 0.0), 1.0))


class Ensemble:
    """Asks the configured models, combines their answers, logs the cost; see the module docstring."""

    def __init__(
        self,
        *,
        surface: str,
        providers: Sequence[Provider],
        offline: OfflineModel,
        costs: JsonlLog,
        clock: Clock,
        policy: EnsemblePolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.surface = surface
        self.providers = tuple(providers)
        self.offline = offline
        self.policy = policy
        self._costs = costs
        self._clock = clock
        self._sleep = sleep
        self._weights = {p.spec.model: p.spec.weight for p in self.providers}
        self._spend = SpendTracker(costs)
        self._cache = AnswerCache(timedelta(seconds=policy.cache_ttl_seconds))
        self._cache.load(costs, clock.now())
        # Twice the models: a call abandoned at its deadline may still hold a thread until the SDK's own timeout
        # ends it, and must not make the next question's calls queue behind it.
        self._pool = ThreadPoolExecutor(max_workers=max(1, 2 * len(self.providers)), thread_name_prefix="llm")

    @property
    def models(self) -> tuple[str, ...]:
        """The models this ensemble asks (``('offline-baseline',)`` without keys)."""
        return tuple(p.spec.model for p in self.providers) or (OFFLINE_MODEL,)

    @property
    def weights(self) -> dict[str, float]:
        """Current weight per model."""
        return dict(self._weights)

    def set_weights(self, weights: Mapping[str, float]) -> None:
        """Replace the weights of the named models (learned weights); unknown names are an error."""
        for name, weight in weights.items():
            if name not in self._weights:
                raise ValueError(f"no configured model named {name!r}")
            if not math.isfinite(weight) or weight <= 0:
                raise ValueError(f"weight of {name!r} must be a positive number, got {weight!r}")
        self._weights.update(weights)

    def spend_today_cents(self) -> int:
        """This surface's LLM spend since the last day boundary, integer cents rounded up."""
        return self._spend.cents_since(day_start(utcnow(), self.policy.day_boundary_tz))

    def cost_capped(self) -> bool:
        """True once today's spend has reached ``API_COST_CAP_CENTS``: no more paid calls today."""
        return self.spend_today_cents() >= self.policy.cost_cap_cents

    def predict(self, question: MarketQuestion) -> EnsembleResult:
        """Forecast P(YES / long) for one question. Never raises for a provider's failure."""
        context_hash = question.context_hash()
        if not self.providers:
            only = self.offline.answer(question)
            return self._result(question, context_hash, [only], reasons=["no LLM key configured: offline baseline"])
        now = self._clock.now()
        capped = self.cost_capped()
        answers: dict[str, ModelAnswer] = {}
        pending: list[Provider] = []
        for provider in self.providers:
            model = provider.spec.model
            weight = self._weights[model]
            hit = self._cache.get((question.market_id, context_hash, model), now)
            if hit is None and capped:
                answers[model] = _abstain(provider, weight, "cost_cap", "daily API cost cap reached", 0, 0)
            elif hit is not None:  # free, so served even once the cap is reached
                answers[model] = ModelAnswer(
                    model=model,
                    provider=provider.spec.provider,
                    weight=weight,
                    p=hit.p,
                    confidence=hit.confidence,
                    rationale=hit.rationale,
                    abstained=False,
                    cached=True,
                )
            else:
                pending.append(provider)
        if pending:
            answers.update(self._ask_all(pending, question))
            self._record(pending, answers, question, context_hash, now)
        ordered = [answers[p.spec.model] for p in self.providers]
        return self._result(question, context_hash, ordered, capped=capped)

    def _ask_all(self, pending: Sequence[Provider], question: MarketQuestion) -> dict[str, ModelAnswer]:
        prompt = user_prompt(question)
        futures: dict[Future[ModelAnswer], Provider] = {
            self._pool.submit(self._ask, provider, prompt): provider for provider in pending
        }
        done, not_done = wait(futures, timeout=self.policy.timeout_seconds + self.policy.grace_seconds)
        answers: dict[str, ModelAnswer] = {}
        for future in done:
            answer = future.result()
            answers[answer.model] = answer
        for future in not_done:
            future.cancel()
            provider = futures[future]
            latency = int((self.policy.timeout_seconds + self.policy.grace_seconds) * 1000)
            answers[provider.spec.model] = _abstain(
                provider, self._weights[provider.spec.model], "timeout", "no reply within the deadline", 1, latency
            )
        return answers

    def _ask(self, provider: Provider, prompt: str) -> ModelAnswer:
        """One model, retries included; returns an answer or an abstention, never raises."""
        weight = self._weights[provider.spec.model]
        start = time.monotonic()
        deadline = start + self.policy.timeout_seconds
        attempts = 0

        def elapsed_ms() -> int:
            return int((time.monotonic() - start) * 1000)

        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return _abstain(provider, weight, "timeout", "deadline passed before a reply", attempts, elapsed_ms())
            attempts += 1
            try:
                completion = provider.complete(
                    SYSTEM_PROMPT, prompt, timeout=remaining, max_tokens=self.policy.max_output_tokens
                )
            except ProviderError as exc:
                if exc.retryable and attempts <= self.policy.max_retries:
                    delay = self.policy.backoff_seconds * 2 ** (attempts - 1)
                    if exc.retry_after is not None:
                        delay = max(delay, exc.retry_after)
                    if time.monotonic() + delay < deadline:
                        log.info("%s: %s, retry %d in %.2fs", provider.spec.model, exc.detail, attempts, delay)
                        self._sleep(delay)
                        continue
                return _abstain(provider, weight, exc.reason, exc.detail, attempts, elapsed_ms())
            except Exception as exc:  # an SDK bug or an unexpected payload must not stop the other models
                log.warning("%s: unexpected %s", provider.spec.model, type(exc).__name__)
                return _abstain(provider, weight, "error", type(exc).__name__, attempts, elapsed_ms())
            cost = call_cost_usd(provider.spec, completion.input_tokens, completion.output_tokens)
            usage: dict[str, Any] = {
                "input_tokens": completion.input_tokens,
                "output_tokens": completion.output_tokens,
                "cost_usd": cost,
            }
            try:
                parsed = parse_answer(completion.text)
            except AnswerError as exc:
                return _abstain(provider, weight, exc.reason, exc.detail, attempts, elapsed_ms(), **usage)
            return ModelAnswer(
                model=provider.spec.model,
                provider=provider.spec.provider,
                weight=weight,
                p=parsed.probability,
                confidence=parsed.confidence,
                rationale=parsed.rationale,
                abstained=False,
                latency_ms=elapsed_ms(),
                attempts=attempts,
                **usage,
            )

    def _record(
        self,
        pending: Sequence[Provider],
        answers: Mapping[str, ModelAnswer],
        question: MarketQuestion,
        context_hash: str,
        now: Any,
    ) -> None:
        records = []
        for provider in pending:
            answer = answers[provider.spec.model]
            records.append(
                cost_record(
                    surface=self.surface,
                    at=now,
                    market_id=question.market_id,
                    context_hash=context_hash,
                    answer=answer,
                )
            )
            if not answer.abstained and answer.p is not None and answer.confidence is not None:
                key = (question.market_id, context_hash, answer.model)
                self._cache.put(
                    key, CachedAnswer(at=now, p=answer.p, confidence=answer.confidence, rationale=answer.rationale)
                )
        # One locked write for the whole question, from this thread only.
        self._costs.append_many(records)

    def _result(
        self,
        question: MarketQuestion,
        context_hash: str,
        answers: Sequence[ModelAnswer],
        *,
        capped: bool = False,
        reasons: Sequence[str] = (),
    ) -> EnsembleResult:
        notes = list(reasons)
        cost = sum((a.cost_usd for a in answers), Decimal(0))
        combined = aggregate(answers)
        if combined is None:
            # Keys configured, nobody answered: the offline p, but with zero confidence so no gate lets it through.
            fallback = self.offline.answer(question, confidence=0.0)
            notes.append("daily API cost cap reached" if capped else "no model answered")
            return EnsembleResult(
                market_id=question.market_id,
                context_hash=context_hash,
                p=fallback.p or 0.0,
                model_spread=None,
                confidence=0.0,
                models=(OFFLINE_MODEL,),
                answers=(*answers, fallback),
                unreliable=True,
                reasons=tuple(notes),
                cost_usd=cost,
                cost_capped=capped,
            )
        answered = tuple(a.model for a in answers if not a.abstained)
        if len(answered) < len(answers):
            notes.append(f"{len(answered)} of {len(answers)} models answered")
        # One answer has no spread: None, so a lone model is never reported as agreeing with itself.
        spread = combined.spread if len(answered) >= 2 else None
        unreliable = spread is not None and spread > self.policy.max_spread
        if unreliable:
            notes.append(f"model spread {combined.spread:.3f} above {self.policy.max_spread}")
        return EnsembleResult(
            market_id=question.market_id,
            context_hash=context_hash,
            p=combined.p,
            model_spread=spread,
            confidence=combined.confidence,
            models=answered,
            answers=tuple(answers),
            unreliable=unreliable,
            reasons=tuple(notes),
            cost_usd=cost,
            cost_capped=capped,
        )

    def close(self) -> None:
        """Stop the worker threads and close the SDK clients."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for provider in self.providers:
            provider.close()
        self._costs.close()


def _abstain(
    provider: Provider,
    weight: float,
    reason: AbstainReason,
    detail: str,
    attempts: int,
    latency_ms: int,
    *,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost_usd: Decimal = Decimal(0),
) -> ModelAnswer:
    return ModelAnswer(
        model=provider.spec.model,
        provider=provider.spec.provider,
        weight=weight,
        abstained=True,
        reason=reason,
        detail=detail[:200],
        latency_ms=latency_ms,
        attempts=attempts,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost_usd,
    )


def _setting(settings: EnsembleSettings, name: str) -> Any:
    if not hasattr(settings, name):
        raise ConfigError(None, name.upper(), "missing: combine EnsembleSettings with SurfaceSettings")
    return getattr(settings, name)


def _api_key(settings: EnsembleSettings, provider: str) -> str | None:
    secret = _setting(settings, f"{provider}_api_key")
    if isinstance(secret, SecretStr):
        value = secret.get_secret_value().strip()
        return value or None
    return None


def build_ensemble(
    settings: EnsembleSettings,
    log_dir: Path,
    surface: str,
    clock: Clock,
    *,
    http_clients: Mapping[str, httpx2.Client] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    grace_seconds: float = 1.0,
) -> Ensemble:
    """The ensemble of one surface, from its settings (``SurfaceSettings`` + :class:`EnsembleSettings`).

    Only models whose provider has an API key are asked; with none, the offline model answers alone. Pass the
    wall clock: the cache TTL and the cost records are about real time. ``http_clients`` (keyed by provider:
    anthropic, openai, gemini, deepseek) replaces the SDKs' HTTP clients (tests inject mock transports). With
    ``LLM_LEARNED_WEIGHTS=true`` the weights come from the surface's resolved history where there is enough.
    """
    clients = dict(http_clients or {})
    providers: list[Provider] = []
    for spec in settings.model_specs():
        key = _api_key(settings, spec.provider)
        if key is None:
            continue
        base_url = getattr(settings, f"{spec.provider}_base_url", None)
        providers.append(make_provider(spec, key, base_url=base_url, http_client=clients.get(spec.provider)))
    policy = EnsemblePolicy(
        timeout_seconds=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
        backoff_seconds=settings.llm_retry_backoff_seconds,
        max_output_tokens=settings.llm_max_output_tokens,
        max_spread=float(_setting(settings, "max_model_spread")),
        cost_cap_cents=int(_setting(settings, "api_cost_cap_cents")),
        day_boundary_tz=str(_setting(settings, "day_boundary_tz")),
        cache_ttl_seconds=settings.llm_cache_ttl_seconds,
        grace_seconds=grace_seconds,
    )
    offline = OfflineModel(
        base_rate=settings.llm_offline_base_rate,
        slope=settings.llm_offline_slope,
        confidence=settings.llm_offline_confidence,
    )
    ensemble = Ensemble(
        surface=surface,
        providers=providers,
        offline=offline,
        costs=open_stream(log_dir, surface, "costs"),
        clock=clock,
        policy=policy,
        sleep=sleep,
    )
    if settings.llm_learned_weights and providers:
        from shared.ai.history import learned_weights, model_outcomes

        learned = learned_weights(
            model_outcomes(log_dir, surface), min_resolved=settings.llm_learned_weights_min_resolved
        )
        # All or nothing: learned weights sum to 1 over the models they cover, so mixing them with configured
        # weights for the rest would skew the ensemble.
        if learned and set(ensemble.weights) <= set(learned):
            usable = {name: learned[name] for name in ensemble.weights}
            log.info("%s: learned weights %s", surface, usable)
            ensemble.set_weights(usable)
    return ensemble
