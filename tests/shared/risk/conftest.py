"""Fixtures for the risk tests: a settings object, a chain on a stepped venue clock, candidate and trade makers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.clock import SteppedClock
from shared.config import SurfaceSettings
from shared.money.ledger import Ledger
from shared.records import Trade
from shared.risk.candidate import Candidate
from shared.risk.chain import RiskChain

from ..money.trades import trade

VENUE_T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # a Monday afternoon

BASE_CANDIDATE = Candidate(
    candidate_id="SIG-0",
    surface="kalshi_st",
    sub_strategy="weather",
    venue="sim",
    instrument="KXHIGHNY-25MAR03-B50",
    side="yes",
    price=Decimal("0.40"),
    current_price=Decimal("0.40"),
    quantity=1_000,
    cost_cents=400,
    fee_cents=17,
    p_model=0.55,
    p_market=0.40,
    confidence=0.8,
    model_spread=0.05,
    models=("offline-baseline",),
    category="weather",
    underlying="KXHIGHNY-25MAR03",
)


def _make_candidate(**changes: Any) -> Candidate:
    """A candidate that passes every gate on a fresh default chain, with ``changes`` applied."""
    return replace(BASE_CANDIDATE, **changes)


_make_trade = trade


class Rig:
    """A chain with its ledger, clock and log directory."""

    def __init__(self, log_dir: Path, settings: SurfaceSettings, surface: str = "kalshi_st") -> None:
        self.log_dir = log_dir
        self.clock = SteppedClock(VENUE_T0)
        self.ledger = Ledger.rebuild(
            log_dir, surface, bankroll_cents=settings.bankroll_cents, day_boundary_tz=settings.day_boundary_tz
        )
        self.chain = RiskChain(settings, self.ledger, log_dir, self.clock, stop_check_seconds=0.0)
        self.chain.begin_tick()

    def close(self) -> None:
        self.chain.close()


@pytest.fixture
def rig_factory(log_dir: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def build(surface: str = "kalshi_st", **settings: Any) -> Rig:
        # model_validate reads no environment variables: the test's settings are exactly these.
        rig = Rig(log_dir, SurfaceSettings.model_validate(settings), surface)
        rigs.append(rig)
        return rig

    yield build
    for rig in rigs:
        rig.close()


@pytest.fixture
def rig(rig_factory: Callable[..., Rig]) -> Rig:
    return rig_factory()


@pytest.fixture
def make_candidate() -> Callable[..., Candidate]:
    return _make_candidate


@pytest.fixture
def make_trade() -> Callable[..., Trade]:
    return _make_trade
