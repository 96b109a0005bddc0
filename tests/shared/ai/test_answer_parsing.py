"""The strict answer parser and the prompt."""

from __future__ import annotations

import json

import pytest

from shared.ai.prompt import RATIONALE_MAX_CHARS, AnswerError, parse_answer, user_prompt
from shared.ai.schema import MarketQuestion


def test_valid_answer_and_code_fence() -> None:
    text = json.dumps({"probability": 0.72, "confidence": 0.6, "rationale": " polls lead "})
    parsed = parse_answer(text)
    assert (parsed.probability, parsed.confidence, parsed.rationale) == (0.72, 0.6, "polls lead")
    assert parse_answer(f"```json\n{text}\n```") == parsed
    assert parse_answer(json.dumps({"probability": 1, "confidence": 0, "rationale": ""})).probability == 1.0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "empty_response"),
        ("   ", "empty_response"),
        ("about 70%", "unparseable"),
        ("[0.7]", "unparseable"),
        ('{"probability": 0.7, "confidence": 0.5}', "unparseable"),
        ('{"probability": 0.7, "confidence": 0.5, "rationale": "x", "extra": 1}', "unparseable"),
        ('{"probability": "0.7", "confidence": 0.5, "rationale": "x"}', "unparseable"),
        ('{"probability": true, "confidence": 0.5, "rationale": "x"}', "unparseable"),
        ('{"probability": 0.7, "confidence": 0.5, "rationale": 3}', "unparseable"),
        ('{"probability": 1.01, "confidence": 0.5, "rationale": "x"}', "out_of_range"),
        ('{"probability": -0.1, "confidence": 0.5, "rationale": "x"}', "out_of_range"),
        ('{"probability": 0.5, "confidence": 7, "rationale": "x"}', "out_of_range"),
        ('{"probability": NaN, "confidence": 0.5, "rationale": "x"}', "out_of_range"),
        ('Sure! {"probability": 0.7, "confidence": 0.5, "rationale": "x"}', "unparseable"),
    ],
)
def test_anything_else_is_an_abstention(text: str | None, reason: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_answer(text)
    assert caught.value.reason == reason


def test_long_rationale_is_truncated_not_rejected() -> None:
    parsed = parse_answer(json.dumps({"probability": 0.5, "confidence": 0.5, "rationale": "x" * 5000}))
    assert len(parsed.rationale) == RATIONALE_MAX_CHARS


def test_prompt_and_context_hash() -> None:
    q = MarketQuestion(market_id="M", question="Will X?", p_market=0.3, category="politics", context={"b": 1, "a": 2})
    prompt = user_prompt(q)
    assert "Will X?" in prompt and "politics" in prompt and '{"a": 2, "b": 1}' in prompt and "0.3" not in prompt
    # The hash covers what the models see; the price is not part of it.
    same = MarketQuestion(
        market_id="M", question="Will X?", p_market=0.9, category="politics", context={"a": 2, "b": 1}
    )
    assert q.context_hash() == same.context_hash()
    other = MarketQuestion(market_id="M", question="Will X?", p_market=0.3, category="politics", context={"a": 3})
    assert q.context_hash() != other.context_hash()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"p_market": 1.5},
        {"features": {"trend": 0.5}},  # no side channel for the strategy's own signal any more
        {"context": {"x": float("nan")}},
        {"context": {"x": object()}},
        {"market_id": ""},
    ],
)
def test_bad_questions_are_rejected(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"market_id": "M", "question": "Q?", "p_market": 0.5}
    with pytest.raises(ValueError):
        MarketQuestion(**{**base, **kwargs})  # type: ignore[arg-type]
