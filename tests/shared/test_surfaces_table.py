"""The one table of surfaces: every other list of surfaces is derived from it."""

from __future__ import annotations

import importlib
import importlib.resources
from typing import get_args

import pytest

from shared.records import SURFACES, Surface
from shared.surfaces import SURFACE_NAMES, SURFACE_TABLE, UnknownSurface, surface_spec, surfaces_of_venue


def test_records_literal_matches_the_table() -> None:
    assert get_args(Surface) == SURFACE_NAMES
    assert SURFACES == SURFACE_NAMES


@pytest.mark.parametrize("name", SURFACE_NAMES)
def test_each_row_points_at_a_real_package_and_env_example(name: str) -> None:
    spec = surface_spec(name)
    module = importlib.import_module(spec.module)
    assert hasattr(module, "SETTINGS") and hasattr(module, "build")
    assert (importlib.resources.files("shared").joinpath("..", "envs", f"{spec.env_file}.example")).is_file()


def test_derived_lists_read_the_table() -> None:
    from dashboard.operator_state import ENV_FILES
    from shared.venues.factory import LIVE_VENUES
    from surfaces.runner import SURFACE_PACKAGES

    assert set(SURFACE_PACKAGES) == set(SURFACE_TABLE)
    assert {name: spec.env_file for name, spec in SURFACE_TABLE.items()} == ENV_FILES
    assert LIVE_VENUES == {"kalshi": ("kalshi_st", "kalshi_lt"), "oanda": ("fx",), "ibkr": ("stocks",)}
    assert surfaces_of_venue("oanda") == ("fx",)


def test_unknown_surface_names_the_known_ones() -> None:
    with pytest.raises(UnknownSurface, match="kalshi_st"):
        surface_spec("crypto")
