"""Check every resource in the template against Azure's published Bicep types: the data the Bicep
compiler itself checks against (Azure/bicep-types-az, `generated/`).

For each resource: its provider, API version and type are found in that data; every property
path is known at its level; no read-only property is set; required properties are there;
closed enums hold; a literal string meets its type's pattern and length, a literal integer its
range. What only deploy time knows (a parameter, a function call) is not checked, except that
both branches of a condition are. Module calls are checked against the module's parameters
and outputs.

    .venv-infra/bin/python scripts/bicep_schema.py [DIR]   # parses DIR's .bicep files (pycep)

The data is looked for in $CROSSWALK_BICEP_TYPES, then in shared/azure-bicep-types beside the
checkout (or beside its parent). A provider or API version missing from it fails naming what is
missing and where the data is.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.bicep_template import (
    BicepFile,
    body,
    is_call,
    is_literal,
    is_loop,
    literal_decorator,
    outputs_read,
    unquote,
)
from scripts.bicep_types import ROOT, TYPES_ENV, TypeIndex, TypesMissing, types_root

__all__ = [
    "TYPES_ENV",
    "TYPES_MISSING",
    "SchemaResult",
    "check_files",
    "parse_directory",
    "types_root",
]

TYPES_MISSING = (
    f"Azure's published Bicep types were not found: set {TYPES_ENV} to a folder shaped like "
    "Azure/bicep-types-az's generated/, or put shared/azure-bicep-types beside the checkout"
)

REQUIRED, READ_ONLY = 1, 2
BICEP_ONLY_KEYS = {"parent", "scope", "dependsOn"}  # resource keywords, not ARM properties


@dataclass
class Checker:
    """Checks one file's resources against the types; problems collect one line each."""

    file: BicepFile
    index: TypeIndex
    problems: list[str] = field(default_factory=list)
    resources: int = 0

    def run(self, modules: Mapping[str, BicepFile] | None = None) -> list[str]:
        for symbol, resource in self.file.resources.items():
            self.resource(symbol, resource)
        for symbol, module in self.file.modules.items():
            self.module(symbol, module, modules or {})
        return self.problems

    def report(self, where: str, message: str) -> None:
        self.problems.append(f"{self.file.path} {where}: {message}")

    def resource(self, symbol: str, resource: Mapping[str, Any]) -> None:
        type_name, version = resource["type"], resource["api_version"]
        where = f"{symbol} ({type_name}@{version})"
        self.resources += 1
        try:
            nodes, resource_type = self.index.resource(type_name, version)
        except TypesMissing as missing:
            self.report(where, str(missing))
            return
        config, _, _ = body(resource)
        if not isinstance(config, dict):
            return
        if resource.get("existing"):
            extra = sorted(set(config) - {"name", "scope", "parent"})
            if extra:
                self.report(where, f"an existing resource takes only name/scope/parent: {extra}")
            return
        values = {k: v for k, v in config.items() if k not in BICEP_ONLY_KEYS}
        _Walk(self, nodes, where).value(values, resource_type["body"], "")

    def module(self, symbol: str, module: Mapping[str, Any], modules: Mapping[str, BicepFile]):
        path = str((module.get("detail") or {}).get("path", ""))
        target = modules.get(os.path.normpath(os.path.join(os.path.dirname(self.file.path), path)))
        if target is None:
            return
        config, _, _ = body(module)
        params = config.get("params") or {} if isinstance(config, dict) else {}
        declared = target.parameters
        for name in params:
            if name not in declared:
                close = difflib.get_close_matches(name, list(declared), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                self.report(f"module {symbol}", f"{path} has no parameter {name}{hint}")
        for name, param in declared.items():
            if param.get("default") is None and name not in params:
                self.report(f"module {symbol}", f"{path} requires parameter {name}")
        outputs = set(target.parsed.get("outputs") or {})
        for name in sorted(set(outputs_read(self.file.parsed, symbol)) - outputs):
            close = difflib.get_close_matches(name, sorted(outputs), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            self.report(f"module {symbol}", f"{path} has no output {name}{hint}")


class _Walk:
    """One resource body against its type, path by path."""

    def __init__(self, checker: Checker, nodes: list[dict[str, Any]], where: str) -> None:
        self.checker = checker
        self.nodes = nodes
        self.where = where

    def node(self, ref: Mapping[str, Any]) -> dict[str, Any]:
        return self.nodes[int(ref["$ref"].removeprefix("#/"))]

    def report(self, path: str, message: str) -> None:
        self.checker.report(self.where, f"{path or '(body)'}: {message}")

    def is_known_later(self, value: Any) -> bool:
        """A reference, an interpolation or a call: only deploy time knows its value."""
        if isinstance(value, str):
            return "${" in value or self.checker.file.is_value_reference(value)
        return isinstance(value, dict) and (
            is_call(value, "operator") or is_call(value, "function")
        )

    def parameter_values(self, name: str) -> list[tuple[Any, str]]:
        """What a parameter of this file can hold, where the file says: each @allowed value,
        else a literal default (a caller's value is checked where the caller is read)."""
        param = self.checker.file.parameters[name]
        names = self.checker.file.names
        allowed = literal_decorator(param, "allowed")
        if isinstance(allowed, list):
            return [(v, f"param {name} allows {v!r}") for v in allowed if is_literal(v, names)]
        default = param.get("default")
        if default is not None and is_literal(default, names):
            return [(default, f"param {name} defaults to {_shown(default)}")]
        return []

    def value(self, value: Any, ref: Mapping[str, Any], path: str) -> None:
        if value is None:
            return
        if is_call(value, "operator") and value["operator"]["type"] == "conditional":
            operands = value["operator"]["operands"]
            self.value(operands["true_value"], ref, path)
            self.value(operands["false_value"], ref, path)
            return
        if isinstance(value, str) and value in self.checker.file.parameters:
            for candidate, origin in self.parameter_values(value):
                self.value(candidate, ref, f"{path} ({origin})")
            return
        if self.is_known_later(value):
            return
        node = self.node(ref)
        kind = node["$type"]
        if is_loop(value):  # [for x in xs: {...}]: each item is the array's item
            if kind == "ArrayType":
                self.value(value["config"], node["itemType"], f"{path}[]")
            else:
                self.report(path, f"a list where Azure expects {_describe(node, self)}")
            return
        check = getattr(self, f"check_{kind}", None)
        if check is not None:
            check(value, node, path)

    def check_ObjectType(self, value: Any, node: Mapping[str, Any], path: str) -> None:
        self.object(value, node.get("properties") or {}, node.get("additionalProperties"), path)

    def check_DiscriminatedObjectType(self, value: Any, node: Mapping[str, Any], path: str):
        if not isinstance(value, dict):
            self.report(path, f"{_shown(value)} where Azure expects an object")
            return
        key = node["discriminator"]
        chosen = value.get(key)
        elements = node["elements"]
        base = dict(node.get("baseProperties") or {})
        if isinstance(chosen, str) and chosen in elements:
            element = self.node(elements[chosen])
            self.object(value, {**base, **element.get("properties", {})}, None, path)
        elif isinstance(chosen, str) and not self.is_known_later(chosen):
            self.report(path, f"{key} {chosen!r} is not one of {sorted(elements)}")
        else:  # chosen at deploy time: a property must at least exist in one variant
            known = dict(base)
            for ref in elements.values():
                known.update(self.node(ref).get("properties", {}))
            self.object(value, known, None, path, check_required=False)

    def check_UnionType(self, value: Any, node: Mapping[str, Any], path: str) -> None:
        members = [self.node(ref) for ref in node["elements"]]
        literals = [m["value"] for m in members if m["$type"] == "StringLiteralType"]
        if len(literals) == len(members):  # a closed enum
            if value not in literals:
                self.report(path, f"{_shown(value)} is not one of {literals}")
            return
        if isinstance(value, str) and any(m["$type"] == "StringType" for m in members):
            return  # an open enum: Azure's listed values and any other string
        # a union of shapes: fine if any member takes it without a problem
        for ref in node["elements"]:
            trial = Checker(self.checker.file, self.checker.index)
            _Walk(trial, self.nodes, self.where).value(value, ref, path)
            if not trial.problems:
                return
        self.report(path, f"{_shown(value)} matches none of {_describe(node, self)}")

    def check_StringLiteralType(self, value: Any, node: Mapping[str, Any], path: str) -> None:
        if value != node["value"]:
            self.report(path, f"{_shown(value)} where Azure expects {node['value']!r}")

    def check_StringType(self, value: Any, node: Mapping[str, Any], path: str) -> None:
        if not isinstance(value, str):
            self.report(path, f"{_shown(value)} where Azure expects a string")
            return
        low, high = node.get("minLength"), node.get("maxLength")
        if low is not None and len(value) < low or high is not None and len(value) > high:
            self.report(path, f"{value!r} is {len(value)} long; Azure takes {low}-{high}")
        pattern = node.get("pattern")
        if pattern and not _matches(pattern, value):
            self.report(path, f"{value!r} does not match Azure's pattern {pattern}")

    def check_IntegerType(self, value: Any, node: Mapping[str, Any], path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.report(path, f"{_shown(value)} where Azure expects an integer")
            return
        low, high = node.get("minValue"), node.get("maxValue")
        if low is not None and value < low or high is not None and value > high:
            self.report(path, f"{value} is outside Azure's range {low}..{high}")

    def check_BooleanType(self, value: Any, node: Mapping[str, Any], path: str) -> None:
        if not isinstance(value, bool):
            self.report(path, f"{_shown(value)} where Azure expects true or false")

    def check_ArrayType(self, value: Any, node: Mapping[str, Any], path: str) -> None:
        if not isinstance(value, list):
            self.report(path, f"{_shown(value)} where Azure expects a list")
            return
        for item in value:
            self.value(item, node["itemType"], f"{path}[]")

    def object(
        self,
        value: Any,
        properties: Mapping[str, Any],
        additional: Mapping[str, Any] | None,
        path: str,
        check_required: bool = True,
    ) -> None:
        if not isinstance(value, dict):
            self.report(path, f"{_shown(value)} where Azure expects an object")
            return
        given = {unquote(k): v for k, v in value.items()}
        by_lower = {name.lower(): name for name in properties}
        for key, item in given.items():
            here = f"{path}.{key}" if path else key
            name = key if key in properties else by_lower.get(key.lower())
            if name is None:
                if additional is not None:
                    self.value(item, additional, here)
                    continue
                close = difflib.get_close_matches(key, list(properties), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                self.report(here, f"not a property Azure knows at {path or 'the top'}{hint}")
                continue
            if name != key:
                self.report(here, f"Azure spells it {name}")
            prop = properties[name]
            if prop.get("flags", 0) & READ_ONLY:
                self.report(here, "read-only: Azure sets it, a template cannot")
                continue
            self.value(item, prop["type"], here)
        if check_required:
            lower_given = {k.lower() for k in given}
            for name, prop in properties.items():
                if prop.get("flags", 0) & REQUIRED and name.lower() not in lower_given:
                    here = f"{path}.{name}" if path else name
                    self.report(here, "required by Azure, not set")


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:  # a .NET-only construct: Python cannot judge it
        return True


def _shown(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, dict | list) else type(value).__name__


def _describe(node: Mapping[str, Any], walk: _Walk) -> str:
    if node["$type"] == "UnionType":
        return " | ".join(_describe(walk.node(r), walk) for r in node["elements"])
    if node["$type"] == "StringLiteralType":
        return repr(node["value"])
    return node.get("name") or node["$type"]


@dataclass
class SchemaResult:
    problems: list[str]
    resources: int
    files: int


def check_files(files: Mapping[str, BicepFile], root: Path | None = None) -> SchemaResult:
    """Every resource and module call in files (by path under infra/) against the types."""
    root = root or types_root()
    if root is None or not root.is_dir():
        looked = root or " or ".join(
            str(b / "shared" / "azure-bicep-types") for b in (ROOT.parent, ROOT.parent.parent)
        )
        return SchemaResult(
            [
                f"Azure's Bicep type definitions not found (looked in {looked}): set "
                f"{TYPES_ENV} to a folder shaped like Azure/bicep-types-az's generated/"
            ],
            0,
            len(files),
        )
    index = TypeIndex(root)
    problems: list[str] = []
    resources = 0
    for file in files.values():
        checker = Checker(file, index)
        problems += checker.run(files)
        resources += checker.resources
    return SchemaResult(problems, resources, len(files))


def parse_directory(directory: Path) -> dict[str, BicepFile]:
    from pycep import BicepParser  # only in .venv-infra

    parser = BicepParser()
    files: dict[str, BicepFile] = {}
    for path in sorted(directory.rglob("*.bicep")):
        name = path.relative_to(directory).as_posix()
        try:
            files[name] = BicepFile(name, parser.parse(file_path=path))
        except Exception as exc:  # lark's errors or ValueError: the file cannot be checked
            first = (str(exc).strip().splitlines() or [""])[0]
            raise SystemExit(f"{name}: does not parse: {type(exc).__name__} {first}") from exc
    return files


def summary(result: SchemaResult, root: Path | None = None) -> str:
    where = root or types_root()
    return (
        f"schema: {result.resources} resources in {result.files} Bicep files checked against "
        f"Azure's published types ({where}): {len(result.problems)} problems"
    )


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    directory = Path(args[0]) if args else ROOT / "infra"
    result = check_files(parse_directory(directory))
    print(summary(result))
    for line in result.problems:
        print(f"  {line}")
    return 1 if result.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
