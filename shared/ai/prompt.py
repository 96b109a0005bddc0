"""The forecasting prompt and the strict parser of the models' answers.

Every provider is asked for the same JSON object: ``{"probability": p, "confidence": c, "rationale": "..."}``.
The parser accepts exactly that object (optionally inside one Markdown code fence, which some models add even
when told not to). Anything else is an :class:`AnswerError`, which the ensemble records as an abstention: never
a silent 0.5.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from shared.ai.blind import blind_context
from shared.ai.schema import AbstainReason, MarketQuestion

SYSTEM_PROMPT = (
    "You are a careful, calibrated forecaster. Estimate the probability that the question below resolves YES. "
    "Use only the information given and your general knowledge; do not assume facts that are not given. "
    "Reply with only a JSON object, no other text: "
    '{"probability": <number from 0 to 1, the probability of YES>, '
    '"confidence": <number from 0 to 1, how well the evidence supports your estimate>, '
    '"rationale": "<at most two sentences>"}'
)

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "probability": {"type": "number"},
        "confidence": {"type": "number"},
        "rationale": {"type": "string"},
    },
    "required": ["probability", "confidence", "rationale"],
    "additionalProperties": False,
}
"""JSON schema of the answer, for providers that enforce structured output."""

RATIONALE_MAX_CHARS = 400
_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```$", re.DOTALL | re.IGNORECASE)


class AnswerError(ValueError):
    """A reply that is not a valid answer; ``reason`` is the abstention reason recorded for it."""

    def __init__(self, reason: AbstainReason, detail: str) -> None:
        super().__init__(detail)
        self.reason: AbstainReason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """A valid answer: probability of YES, the model's confidence, its rationale (truncated for the logs)."""

    probability: float
    confidence: float
    rationale: str


def user_prompt(question: MarketQuestion) -> str:
    """The question as the models see it. The market price is deliberately left out (independent forecasts):
    ``p_market`` is never written, and the context has had its price-like keys removed (``shared.ai.blind``);
    a context that still carries one (built around the validator) is refused rather than sent."""
    _, leaked = blind_context(question.context)
    if leaked:
        raise ValueError(f"{question.market_id}: market prices in the models' context: {', '.join(leaked)}")
    lines = [f"Question: {question.question}"]
    if question.category:
        lines.append(f"Category: {question.category}")
    if question.context:
        lines.append("Context (JSON): " + json.dumps(question.context, sort_keys=True, ensure_ascii=False))
    lines.append("Answer with the JSON object only.")
    return "\n".join(lines)


def _unit_number(data: dict[str, Any], key: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AnswerError("unparseable", f"{key} is not a number: {value!r}"[:120])
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise AnswerError("out_of_range", f"{key} {value!r} is outside [0, 1]"[:120])
    return number


def parse_answer(text: str | None) -> ParsedAnswer:
    """Parse a model's reply strictly; raises :class:`AnswerError` (unparseable, out_of_range, empty_response)."""
    if text is None or not text.strip():
        raise AnswerError("empty_response", "the model returned no text")
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        data = json.loads(body)
    except ValueError:
        raise AnswerError("unparseable", f"not JSON: {body[:80]!r}") from None
    if not isinstance(data, dict):
        raise AnswerError("unparseable", f"not a JSON object: {type(data).__name__}")
    expected = {"probability", "confidence", "rationale"}
    if set(data) != expected:
        raise AnswerError("unparseable", f"keys {sorted(data)} != {sorted(expected)}")
    probability = _unit_number(data, "probability")
    confidence = _unit_number(data, "confidence")
    rationale = data["rationale"]
    if not isinstance(rationale, str):
        raise AnswerError("unparseable", "rationale is not a string")
    return ParsedAnswer(probability, confidence, rationale.strip()[:RATIONALE_MAX_CHARS])
