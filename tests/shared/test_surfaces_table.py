"""The one table of surfaces: every other list of surfaces is derived from it."""

from __future__ import annotations

import importlib
import importlib.resources
import json
import shutil
import subprocess
from pathlib import Path
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


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed with PM2 by make")
def test_the_pm2_ecosystem_runs_one_loop_per_row() -> None:
    root = Path(__file__).resolve().parents[2]
    script = 'const e=require("./ecosystem.config.js"); console.log(JSON.stringify(e.apps.map(a=>[a.name,a.args])))'
    apps = json.loads(subprocess.run(["node", "-e", script], cwd=root, capture_output=True, text=True, check=True,
                                     timeout=60).stdout)
    loops = {name: args for name, args in apps if name not in ("st-resolver", "st-dashboard")}
    assert loops == {spec.process: ["-m", spec.module.rsplit(".", 1)[0], "--env", spec.default_env]
                     for spec in SURFACE_TABLE.values()}


def test_the_resolver_settles_every_row_by_default() -> None:
    from surfaces.resolver.config import ResolverSettings

    assert ResolverSettings.model_fields["surface_envs"].default == tuple(
        f"{spec.name}={spec.default_env}" for spec in SURFACE_TABLE.values())
