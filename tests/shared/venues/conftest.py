"""Fixtures every venue adapter's tests share: recorded payloads and OpenAPI 3 spec validation."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` as JSON schema (jsonschema ignores the OpenAPI keyword)."""
    if isinstance(node, dict):
        node = {key: _nullable(value) for key, value in node.items()}
        if node.pop("nullable", False):
            if "type" in node and "$ref" not in node and "allOf" not in node:
                node["type"] = [node["type"], "null"]
            else:
                return {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    return node


@dataclass(frozen=True)
class OpenApi3:
    """Validators over one vendored OpenAPI 3 document (Kalshi, IBKR)."""

    document: dict[str, Any]

    def schema(self, name: str, instance: Any) -> None:
        """Validate ``instance`` against ``components.schemas[name]``; raises jsonschema.ValidationError."""
        schema = {"$ref": f"#/components/schemas/{name}", "components": self.document["components"]}
        jsonschema.Draft7Validator(schema).validate(instance)

    def body(self, path: str, method: str, instance: Any) -> None:
        """Validate a request body against the operation's ``application/json`` schema."""
        operation = self.document["paths"][path][method]
        body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
        jsonschema.Draft7Validator(body_schema | {"components": self.document["components"]}).validate(instance)


@cache
def _load_openapi3(spec: Path) -> OpenApi3:
    return OpenApi3(_nullable(json.loads(spec.read_text())))


@pytest.fixture(scope="session")
def openapi3() -> Callable[[Path], OpenApi3]:
    """``openapi3(SPEC).schema(name, body)`` / ``.body(path, method, body)``; each spec is parsed once."""
    return _load_openapi3


@pytest.fixture
def payload(request: pytest.FixtureRequest) -> Callable[[str], Any]:
    """A fresh copy of a recorded payload from ``payloads/<name>.json`` beside the requesting test."""
    folder = Path(request.node.path).parent / "payloads"

    def load(name: str) -> Any:
        return copy.deepcopy(json.loads((folder / f"{name}.json").read_text()))

    return load
