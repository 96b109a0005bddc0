"""envs/dashboard.env.example is written by hand (its comments explain more than a generator could): it must
list every key of the dashboard's settings, and what it sets must be the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.config import DashboardSettings, load_dashboard_settings
from shared.config import env_example_keys, parse_env_file

EXAMPLE = Path(__file__).resolve().parents[2] / "envs" / "dashboard.env.example"


def test_the_example_lists_every_key() -> None:
    assert env_example_keys(EXAMPLE) == {name.upper() for name in DashboardSettings.model_fields}


def test_the_example_sets_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in DashboardSettings.model_fields:
        monkeypatch.delenv(key.upper(), raising=False)
    assert {"TRUSTED_PROXIES", "MIN_COHORT", "OPERATOR_AUTH_FAILURE_BURST"} <= set(parse_env_file(EXAMPLE))
    assert load_dashboard_settings(EXAMPLE).model_dump() == DashboardSettings().model_dump()
