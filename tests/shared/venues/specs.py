"""The vendored venue specs as validators, for the adapters' own tests and the client's live-broker tests alike.

A plain module (not a fixture file) so that a suite in another folder can load it by path:
``load_specs_module()`` in tests/client does. Each spec is parsed once per process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SPECS = Path(__file__).resolve().parents[2] / "fixtures" / "specs"
KALSHI_SPEC = SPECS / "kalshi" / "kalshi-openapi-3.15.0.trimmed.json"
IBKR_SPEC = SPECS / "ibkr" / "ibkr-openapi-2.29.0.trimmed.json"
OANDA_SPEC = SPECS / "oanda" / "v20.trimmed.json"


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


@dataclass(frozen=True)
class Swagger2:
    """Validators over one vendored Swagger 2 document (OANDA v20)."""

    document: dict[str, Any]

    def schema(self, name: str, instance: Any) -> None:
        """Validate ``instance`` against ``definitions[name]``; raises jsonschema.ValidationError."""
        schema = {"$ref": f"#/definitions/{name}", "definitions": self.document["definitions"]}
        jsonschema.Draft4Validator(schema).validate(instance)

    def body(self, path: str, method: str, instance: Any) -> None:
        """Validate a request body against the operation's ``in: body`` parameter."""
        [body] = [p for p in self.document["paths"][path][method]["parameters"] if p.get("in") == "body"]
        jsonschema.Draft4Validator(body["schema"] | {"definitions": self.document["definitions"]}).validate(instance)


@cache
def openapi3(spec: Path) -> OpenApi3:
    return OpenApi3(_nullable(json.loads(spec.read_text())))


@cache
def swagger2(spec: Path) -> Swagger2:
    return Swagger2(json.loads(spec.read_text()))
