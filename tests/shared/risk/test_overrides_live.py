"""Live overrides from SettingsOverride records change the chain's thresholds at the next tick."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.config import SurfaceSettings
from shared.paths import open_stream
from shared.records import SettingsOverride
from shared.risk.candidate import Candidate
from shared.risk.overrides import OverrideError, OverrideSet

MakeCandidate = Callable[..., Candidate]
AT = datetime(2025, 3, 3, tzinfo=UTC)


def write(log_dir: Any, surface: str, key: str, value: Any) -> None:
    with open_stream(log_dir, surface, "overrides") as log:
        log.append(SettingsOverride(surface=surface, at=AT, key=key, value=value))  # type: ignore[arg-type]


def test_threshold_override_applies_at_the_next_tick(rig: Any, make_candidate: MakeCandidate) -> None:
    write(rig.log_dir, "kalshi_st", "MIN_CONFIDENCE", "0.9")
    assert rig.chain.evaluate(make_candidate()).accepted  # not yet: overrides are read at the tick
    rig.chain.begin_tick()
    assert rig.chain.settings.min_confidence == 0.9
    assert rig.chain.evaluate(make_candidate(candidate_id="B", instrument="B")).reason_code == "low_confidence"
    write(rig.log_dir, "kalshi_st", "min_confidence", None)  # revert to the env file's value
    rig.chain.begin_tick()
    assert rig.chain.evaluate(make_candidate(candidate_id="C", instrument="C", underlying="UC")).accepted


def test_suspend_and_resume_a_category(rig: Any, make_candidate: MakeCandidate) -> None:
    write(rig.log_dir, "kalshi_st", "suspend_category", "weather")
    rig.chain.begin_tick()
    assert rig.chain.evaluate(make_candidate()).reason_code == "category_suspended"
    write(rig.log_dir, "kalshi_st", "resume_category", "weather")
    write(rig.log_dir, "kalshi_st", "suspend_sub_strategy", "weather")
    rig.chain.begin_tick()
    assert rig.chain.evaluate(make_candidate()).reason_code == "sub_strategy_suspended"


def test_invalid_overrides_are_skipped_not_fatal(rig: Any, make_candidate: MakeCandidate) -> None:
    write(rig.log_dir, "kalshi_st", "bankroll_cents", 10**12)  # not overridable at run time
    write(rig.log_dir, "kalshi_st", "min_edge", "-1")  # fails validation
    write(rig.log_dir, "kalshi_st", "per_market_cap_cents", 300)  # valid: still applied
    write(rig.log_dir, "fx", "per_market_cap_cents", 1)  # another surface's log: never read here
    rig.chain.begin_tick()
    assert rig.chain.settings.bankroll_cents == 1_000_000 and rig.chain.settings.min_edge > 0
    assert rig.chain.evaluate(make_candidate()).reason_code == "per_market_cap"
    assert len(rig.chain._override_feed.rejected) == 2


def test_override_set_validates_like_the_env_file() -> None:
    overrides = OverrideSet(SurfaceSettings.model_validate({}))
    assert overrides.apply("allowed_sides", "yes,no").allowed_sides == ("yes", "no")
    with pytest.raises(OverrideError):
        overrides.apply("max_drawdown_pct", "2")
    assert overrides.settings.allowed_sides == ("yes", "no")
    with pytest.raises(OverrideError):
        overrides.apply("suspend_category", "")


def test_rapid_exit_thresholds_follow_overrides(rig: Any) -> None:
    write(rig.log_dir, "kalshi_st", "rapid_exit_count", 2)
    rig.chain.begin_tick()
    assert rig.chain._rapid.count == 2


def test_malformed_strategy_sides_override_is_rejected(rig: Any, make_candidate: MakeCandidate) -> None:
    write(rig.log_dir, "kalshi_st", "strategy_sides", "weather-no")
    write(rig.log_dir, "kalshi_st", "min_confidence", "0.9")  # later, valid: still applies
    rig.chain.begin_tick()
    assert rig.chain.settings.strategy_sides == ()
    assert rig.chain.evaluate(make_candidate()).reason_code == "low_confidence"


def test_malformed_strategy_sides_stop_the_chain_at_start(rig_factory: Any) -> None:
    with pytest.raises(ValueError, match="STRATEGY_SIDES"):
        rig_factory(strategy_sides="weather")


def test_overrides_apply_to_a_surface_settings_subclass_with_its_own_keys() -> None:
    from decimal import Decimal

    from shared.risk.overrides import OverrideSet
    from surfaces.fx.config import FxSettings

    overrides = OverrideSet(FxSettings())
    settings = overrides.apply("min_edge", "0.05")
    assert isinstance(settings, FxSettings) and settings.min_edge == Decimal("0.05")
    assert settings.fx_pairs == FxSettings().fx_pairs
