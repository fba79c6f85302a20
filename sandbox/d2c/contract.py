"""docs/d2c-api.yaml as the single source of truth: request schemas and a small validator.

The stand-in validates request bodies against the contract's own schemas (the subset of JSON
Schema the document uses), so the two cannot drift apart.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "d2c-api.yaml"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}

Problems = list[dict[str, str]]


@functools.cache
def document() -> dict[str, Any]:
    return yaml.safe_load(CONTRACT.read_text())


def schema(name: str) -> dict[str, Any]:
    return document()["components"]["schemas"][name]


def request_schema(path: str, method: str) -> dict[str, Any]:
    op = document()["paths"][path][method]
    content = op["requestBody"]["content"]
    return content["application/json"]["schema"]


def operations() -> list[tuple[str, str]]:
    """Every (METHOD, path) the contract defines."""
    out = []
    for path, item in document()["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                out.append((method.upper(), path))
    return out


def _deref(s: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[-1]
        s = schema(name)
    return s


def validate(s: dict[str, Any], value: Any, path: str = "") -> Problems:
    """Problems as ``{field, message}``; empty when ``value`` satisfies ``s``."""
    s = _deref(s)
    where = path or "(body)"
    if "allOf" in s:
        return [p for sub in s["allOf"] for p in validate(sub, value, path)]
    if "oneOf" in s:
        results = [validate(sub, value, path) for sub in s["oneOf"]]
        passing = [r for r in results if not r]
        if len(passing) == 1:
            return []
        if not passing:
            # report the non-null branch's problems: "line1 is required" beats "must be null"
            for sub, problems in zip(s["oneOf"], results, strict=True):
                if _deref(sub).get("type") != "null":
                    return problems
            return results[0]
        return [{"field": where, "message": "matches more than one schema"}]
    if "const" in s and value != s["const"]:
        return [{"field": where, "message": f"must be {s['const']!r}"}]
    types = s.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_TYPES[t](value) for t in names):
            return [{"field": where, "message": f"must be of type {' or '.join(names)}"}]
    if value is None:
        return []
    if "enum" in s and value not in s["enum"]:
        return [{"field": where, "message": f"must be one of {', '.join(map(str, s['enum']))}"}]
    if isinstance(value, str):
        return _string(s, value, where)
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        if "minimum" in s and value < s["minimum"]:
            return [{"field": where, "message": f"must be >= {s['minimum']}"}]
        if "maximum" in s and value > s["maximum"]:
            return [{"field": where, "message": f"must be <= {s['maximum']}"}]
        return []
    if isinstance(value, list):
        return _array(s, value, path, where)
    if isinstance(value, dict):
        return _object(s, value, path, where)
    return []


def _string(s: dict[str, Any], value: str, where: str) -> Problems:
    if "minLength" in s and len(value) < s["minLength"]:
        return [{"field": where, "message": f"must be at least {s['minLength']} characters"}]
    if "maxLength" in s and len(value) > s["maxLength"]:
        return [{"field": where, "message": f"must be at most {s['maxLength']} characters"}]
    if "pattern" in s and not re.search(s["pattern"], value):
        return [{"field": where, "message": f"must match {s['pattern']}"}]
    if s.get("format") == "email" and not _EMAIL.match(value):
        return [{"field": where, "message": "must be an email address"}]
    return []


def _array(s: dict[str, Any], value: list[Any], path: str, where: str) -> Problems:
    if "minItems" in s and len(value) < s["minItems"]:
        return [{"field": where, "message": f"must have at least {s['minItems']} items"}]
    if "maxItems" in s and len(value) > s["maxItems"]:
        return [{"field": where, "message": f"must have at most {s['maxItems']} items"}]
    items = s.get("items")
    problems: Problems = []
    if items:
        for i, item in enumerate(value):
            problems += validate(items, item, f"{path}[{i}]" if path else f"[{i}]")
    return problems


def _object(s: dict[str, Any], value: dict[str, Any], path: str, where: str) -> Problems:
    props = s.get("properties", {})
    problems: Problems = []
    if s.get("additionalProperties") is False:
        for key in value:
            if key not in props:
                problems.append({"field": _join(path, key), "message": "unknown field"})
    for key in s.get("required", []):
        if key not in value:
            problems.append({"field": _join(path, key), "message": "is required"})
    if "minProperties" in s and len(value) < s["minProperties"]:
        problems.append(
            {"field": where, "message": f"must have at least {s['minProperties']} field(s)"}
        )
    for key, sub in props.items():
        if key in value:
            problems += validate(sub, value[key], _join(path, key))
    return problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
