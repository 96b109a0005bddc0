"""The venue factory never hands a live adapter to paper mode, even for settings that skipped validation.

Paper on Kalshi's data builds a PaperVenue (tests/shared/venues/test_paper.py); paper on OANDA or IBKR is refused
before any adapter is imported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shared.config import (
    PAPER_ON_LIVE_VENUE,
    PAPER_ON_LIVE_VENUES,
    ConfigError,
    SurfaceSettings,
    paper_venue_refusal,
)
from shared.venues.factory import LIVE_VENUES, build_venue

_ADAPTERS = ("shared.venues.kalshi.execution", "shared.venues.oanda.execution", "shared.venues.ibkr.execution")


@pytest.mark.parametrize("venue", sorted(set(LIVE_VENUES) - set(PAPER_ON_LIVE_VENUES)))
def test_paper_settings_on_a_live_venue_without_paper_support_are_refused_before_any_adapter_is_built(
    venue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in _ADAPTERS:  # importing an adapter now raises: the refusal must come first
        monkeypatch.setitem(sys.modules, name, None)
    # model_copy does not run validators, so these paper settings name a live venue the model itself would refuse.
    settings = SurfaceSettings(log_dir=tmp_path).model_copy(update={"venue": venue})
    assert settings.trading_mode == "paper" and settings.venue == venue
    for call in (lambda: build_venue(LIVE_VENUES[venue][0], settings), lambda: build_venue(settings)):
        with pytest.raises(ConfigError) as refused:
            call()
        assert refused.value.key == "VENUE" and refused.value.message == PAPER_ON_LIVE_VENUE
        assert "exists only for VENUE=kalshi" in str(refused.value)


def test_unvalidated_construction_is_refused_too(tmp_path: Path) -> None:
    settings = SurfaceSettings.model_construct(log_dir=tmp_path, venue="oanda", trading_mode="paper")
    with pytest.raises(ConfigError, match="VENUE: paper on a live venue's data exists only for VENUE=kalshi"):
        build_venue("fx", settings)
    # Paper on Kalshi without the key its order-book read needs: refused naming the key, no adapter built.
    kalshi = SurfaceSettings.model_construct(log_dir=tmp_path, venue="kalshi", trading_mode="paper")
    with pytest.raises(ConfigError) as refused:
        build_venue("kalshi_st", kalshi)
    assert refused.value.key == "KALSHI_API_KEY_ID"


def test_an_unknown_mode_counts_as_paper() -> None:
    """Fail closed: only the exact word ``live`` lets a live adapter be built."""
    assert paper_venue_refusal("Live", "oanda") == PAPER_ON_LIVE_VENUE
    assert paper_venue_refusal("live", "oanda") is None
    assert paper_venue_refusal("paper", "sim") is None
    assert paper_venue_refusal("paper", "kalshi") is None  # paper on Kalshi's data: a PaperVenue
    assert PAPER_ON_LIVE_VENUES == ("kalshi",)


def test_paper_on_the_sim_still_builds(tmp_path: Path) -> None:
    venue = build_venue("fx", SurfaceSettings(log_dir=tmp_path))
    assert venue.name == "sim"


def test_the_settings_model_refuses_paper_on_a_live_venue() -> None:
    with pytest.raises(ValueError, match="VENUE: paper on a live venue's data exists only for VENUE=kalshi"):
        SurfaceSettings(venue="ibkr", ibkr_account_id="U1")
