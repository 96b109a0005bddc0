"""The venue factory never hands a live adapter to paper mode, even for settings that skipped validation."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shared.config import PAPER_ON_LIVE_VENUE, ConfigError, SurfaceSettings, paper_venue_refusal
from shared.venues.factory import LIVE_VENUES, build_venue

_ADAPTERS = ("shared.venues.kalshi.execution", "shared.venues.oanda.execution", "shared.venues.ibkr.execution")


@pytest.mark.parametrize("venue", sorted(LIVE_VENUES))
def test_paper_settings_on_a_live_venue_are_refused_before_any_adapter_is_built(
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
        assert "not built yet" in str(refused.value)


def test_unvalidated_construction_is_refused_too(tmp_path: Path) -> None:
    settings = SurfaceSettings.model_construct(log_dir=tmp_path, venue="kalshi", trading_mode="paper")
    with pytest.raises(ConfigError, match="VENUE: paper mode trades only on VENUE=sim"):
        build_venue("kalshi_st", settings)


def test_an_unknown_mode_counts_as_paper() -> None:
    """Fail closed: only the exact word ``live`` lets a live adapter be built."""
    assert paper_venue_refusal("Live", "oanda") == PAPER_ON_LIVE_VENUE
    assert paper_venue_refusal("live", "oanda") is None
    assert paper_venue_refusal("paper", "sim") is None


def test_paper_on_the_sim_still_builds(tmp_path: Path) -> None:
    venue = build_venue("fx", SurfaceSettings(log_dir=tmp_path))
    assert venue.name == "sim"


def test_the_settings_model_refuses_paper_on_a_live_venue() -> None:
    with pytest.raises(ValueError, match="VENUE: paper mode trades only on VENUE=sim"):
        SurfaceSettings(venue="ibkr", ibkr_account_id="U1")
