"""Fixtures every venue adapter's tests share: recorded payloads and spec validation (OpenAPI 3, Swagger 2)."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


# The validators live in a plain module so that suites outside this folder (the client's) load the same ones.
def _load_specs() -> ModuleType:
    name = "tbot_test_venue_specs"  # one copy per process, whichever suite loads it first
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("specs.py"))
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)  # dataclasses look their module up here
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


specs = _load_specs()

@pytest.fixture(scope="session")
def openapi3() -> Callable[[Path], Any]:
    """``openapi3(SPEC).schema(name, body)`` / ``.body(path, method, body)``; each spec is parsed once."""
    validators: Callable[[Path], Any] = specs.openapi3
    return validators


@pytest.fixture(scope="session")
def swagger2() -> Callable[[Path], Any]:
    """``swagger2(SPEC).schema(name, body)`` / ``.body(path, method, body)`` for Swagger 2 specs (OANDA v20)."""
    validators: Callable[[Path], Any] = specs.swagger2
    return validators


@pytest.fixture
def payload(request: pytest.FixtureRequest) -> Callable[[str], Any]:
    """A fresh copy of a recorded payload from ``payloads/<name>.json`` beside the requesting test."""
    folder = Path(request.node.path).parent / "payloads"

    def load(name: str) -> Any:
        return copy.deepcopy(json.loads((folder / f"{name}.json").read_text()))

    return load
