"""Read a Bicep file as pycep-parser parses it: which bare strings are references, and what an
expression comes to when its inputs are known.

pycep's JSON writes a reference (`location`) and a literal (`'location'`) the same way, as a
bare string; a string is read here as a reference when it names something the file declares
(parameter, variable, resource, module, output, loop variable). A literal that happens to equal
such a name is then taken for a reference, which only makes a check miss, never fail wrongly.

pycep also binds binary operators right to left without precedence (`a == 'x' ? 1 : 2` comes
out as `a == ('x' ? 1 : 2)`, `!a && b` as `!(a && b)`), so the template parenthesises every
compound condition; the rule tests evaluate each condition both ways round, which catches a
misparse. Nothing here imports pycep: tests read the parsed files from the infra check's report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class _Unknown:
    """A value only known at deploy time (a resource's output, an unknown function)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def unquote(key: str) -> str:
    return key[1:-1] if len(key) > 1 and key[0] == key[-1] == "'" else key


def is_loop(node: Any) -> bool:
    return isinstance(node, dict) and "loop_type" in node and "config" in node


def is_conditioned(node: Any) -> bool:
    """`= if (cond) {...}`: pycep's {condition, config} without a loop."""
    return isinstance(node, dict) and set(node) == {"condition", "config"}


def is_call(node: Any, kind: str) -> bool:
    """pycep's {"function": {"type": ...}} or {"operator": {...}}, not an object literal that
    happens to have a `function` key."""
    return (
        isinstance(node, dict)
        and len(node) == 1
        and isinstance(node.get(kind), dict)
        and "type" in node[kind]
    )


def is_expression(node: Any) -> bool:
    return is_call(node, "operator") or is_call(node, "function")


def loop_names(node: Any) -> Iterator[str]:
    """Every loop's item and index variable anywhere under node."""
    if isinstance(node, dict):
        if is_loop(node):
            detail = node["loop_type"].get("detail") or {}
            for key in ("item_name", "index_name"):
                if detail.get(key):
                    yield detail[key]
        for value in node.values():
            yield from loop_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from loop_names(value)


@dataclass
class BicepFile:
    """One parsed .bicep file, with the names it declares."""

    path: str
    parsed: dict[str, Any]
    names: set[str] = field(default_factory=set)
    value_names: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for section in ("parameters", "variables", "resources", "modules", "outputs"):
            self.names.update((self.parsed.get(section) or {}).keys())
        self.names.update(loop_names(self.parsed))
        # What a property's value can name on its own: a resource or module symbol alone is
        # no value (`parent:`, `scope:` and `dependsOn` are not properties), so a bare string
        # equal to one (`name: 'ftp'` in resource `ftp`) is a literal.
        self.value_names = self.names - set(self.resources) - set(self.modules)

    @property
    def parameters(self) -> dict[str, Any]:
        return self.parsed.get("parameters") or {}

    @property
    def variables(self) -> dict[str, Any]:
        return {k: v.get("value") for k, v in (self.parsed.get("variables") or {}).items()}

    @property
    def resources(self) -> dict[str, Any]:
        return self.parsed.get("resources") or {}

    @property
    def modules(self) -> dict[str, Any]:
        return self.parsed.get("modules") or {}

    def is_reference(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.names

    def is_value_reference(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.value_names

    def defaults(self, **values: Any) -> dict[str, Any]:
        """Each parameter's default (UNKNOWN without one), overridden by values."""
        env = {name: _or_unknown(p.get("default")) for name, p in self.parameters.items()}
        env.update(values)
        return env

    def evaluate(self, expr: Any, env: Mapping[str, Any]) -> Any:
        """expr's value with env's names (parameters, loop items); variables are followed."""
        return _Evaluator(self, env).value(expr, frozenset())


def _or_unknown(value: Any) -> Any:
    return UNKNOWN if value is None else value


def body(resource: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """A resource or module's (body, condition, loop) however it is declared."""
    config = resource.get("config")
    loop = None
    condition = None
    if is_loop(config):
        loop, condition, config = config["loop_type"], config.get("condition"), config["config"]
    elif is_conditioned(config):
        condition, config = config["condition"], config["config"]
    return config, condition, loop


def literal_decorator(param: Mapping[str, Any], kind: str) -> Any:
    for decorator in param.get("decorators") or []:
        if decorator.get("type") == kind:
            return decorator.get("argument")
    return None


_BINARY = {
    "equals": lambda a, b: a == b,
    "not_equals": lambda a, b: a != b,
    "and": lambda a, b: a and b,
    "or": lambda a, b: a or b,
    "greater_than": lambda a, b: a > b,
    "greater_than_or_equals": lambda a, b: a >= b,
    "less_than": lambda a, b: a < b,
    "less_than_or_equals": lambda a, b: a <= b,
    "add": lambda a, b: a + b,
    "substract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "modulo": lambda a, b: a % b,
}

_FUNCTIONS = {
    "empty": lambda p: len(p["item_to_test"] or "") == 0,
    "to_lower": lambda p: p["string_to_change"].lower(),
    "to_upper": lambda p: p["string_to_change"].upper(),
    "replace": lambda p: p["original_string"].replace(p["old_string"], p["new_string"]),
    "length": lambda p: len(next(iter(p.values()))),
    "split": lambda p: p["input_string"].split(p["delimiter"]),
    "concat": lambda p: _concat([p[k] for k in sorted(p, key=lambda k: int(k.split("_")[1]))]),
}


def _concat(parts: list[Any]) -> Any:
    """Bicep's concat: arrays joined, or strings joined (pycep names the args arg_1, arg_2...)."""
    if all(isinstance(part, list) for part in parts):
        return [item for part in parts for item in part]
    return "".join(str(part) for part in parts)


class _Evaluator:
    def __init__(self, file: BicepFile, env: Mapping[str, Any]) -> None:
        self.file = file
        self.env = env
        self.variables = file.variables

    def value(self, expr: Any, seen: frozenset[str]) -> Any:
        if expr is None or isinstance(expr, bool | int | float):
            return expr
        if isinstance(expr, str):
            return self.text(expr, seen)
        if isinstance(expr, list):
            return [self.value(item, seen) for item in expr]
        if not isinstance(expr, dict):
            return UNKNOWN
        if is_call(expr, "operator"):
            return self.operator(expr["operator"], seen)
        if is_call(expr, "function"):
            function = expr["function"]
            known = _FUNCTIONS.get(function.get("type"))
            if known is None:
                return UNKNOWN
            args = {k: self.value(v, seen) for k, v in (function.get("parameters") or {}).items()}
            if any(a is UNKNOWN for a in args.values()):
                return UNKNOWN
            return known(args)
        if is_loop(expr):
            return UNKNOWN
        return {unquote(k): self.value(v, seen) for k, v in expr.items()}

    def name(self, name: str, seen: frozenset[str]) -> Any:
        if name in self.env:
            return self.env[name]
        if name in self.variables and name not in seen:
            return self.value(self.variables[name], seen | {name})
        return UNKNOWN

    def text(self, text: str, seen: frozenset[str]) -> Any:
        if "${" not in text:
            return self.name(text, seen) if self.file.is_reference(text) else text
        parts: list[str] = []
        last = 0
        for match in INTERPOLATION.finditer(text):
            inner = match.group(1).strip()
            if not DOTTED.fullmatch(inner):
                return UNKNOWN
            head, *path = inner.split(".")
            found = self.name(head, seen)
            for step in path:
                found = found.get(step, UNKNOWN) if isinstance(found, dict) else UNKNOWN
            if found is UNKNOWN:
                return UNKNOWN
            parts += [text[last : match.start()], str(found)]
            last = match.end()
        return "".join(parts) + text[last:]

    def operator(self, operator: Mapping[str, Any], seen: frozenset[str]) -> Any:
        kind = operator.get("type")
        operands = operator.get("operands") or {}
        if kind == "conditional":
            condition = self.value(operands["condition"], seen)
            if condition is UNKNOWN:
                return UNKNOWN
            return self.value(operands["true_value" if condition else "false_value"], seen)
        if kind == "not":
            inner = self.value(operands["bool_value"], seen)
            return UNKNOWN if inner is UNKNOWN else not inner
        if kind == "minus":
            inner = self.value(operands.get("integer_value"), seen)
            return UNKNOWN if inner is UNKNOWN else -inner
        if kind == "property_accessor":
            base = self.value(operands["operand_1"], seen)
            return self.access(base, operands["operand_2"])
        if kind == "index_accessor":
            base = self.value(operands["operand_1"], seen)
            index = self.value(operands["operand_2"], seen)
            try:
                return base[index]
            except (TypeError, KeyError, IndexError):
                return UNKNOWN
        if kind in _BINARY:
            left = self.value(operands["operand_1"], seen)
            right = self.value(operands["operand_2"], seen)
            if left is UNKNOWN or right is UNKNOWN:
                return UNKNOWN
            return _BINARY[kind](left, right)
        return UNKNOWN

    def access(self, base: Any, path: Any) -> Any:
        """pycep nests a.b.c as a.(b.c): walk the right-hand side as names."""
        if isinstance(path, str):
            return base.get(path, UNKNOWN) if isinstance(base, dict) else UNKNOWN
        if is_call(path, "operator") and path["operator"]["type"] == "property_accessor":
            operands = path["operator"]["operands"]
            return self.access(self.access(base, operands["operand_1"]), operands["operand_2"])
        return UNKNOWN


def is_literal(value: Any, names: set[str]) -> bool:
    """A value fixed in the text: no reference, interpolation or call anywhere in it."""
    if isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return "${" not in value and value not in names
    if isinstance(value, list):
        return all(is_literal(v, names) for v in value)
    if isinstance(value, dict):
        return (
            not is_call(value, "operator")
            and not is_call(value, "function")
            and not is_loop(value)
            and all(is_literal(v, names) for v in value.values())
        )
    return False


def outputs_read(node: Any, symbol: str) -> list[str]:
    """Every `<symbol>.outputs.<name>` the parsed file reads, as an expression or inside
    an interpolation."""
    found: list[str] = []
    if isinstance(node, str):
        found += re.findall(rf"\b{re.escape(symbol)}\.outputs\.([A-Za-z_][A-Za-z0-9_]*)", node)
    elif isinstance(node, list):
        for item in node:
            found += outputs_read(item, symbol)
    elif isinstance(node, dict):
        if is_call(node, "operator") and node["operator"]["type"] == "property_accessor":
            operands = node["operator"]["operands"]
            rest = operands["operand_2"]
            if (
                operands["operand_1"] == symbol
                and is_call(rest, "operator")
                and rest["operator"]["type"] == "property_accessor"
                and rest["operator"]["operands"]["operand_1"] == "outputs"
            ):
                name = rest["operator"]["operands"]["operand_2"]
                if is_call(name, "operator"):  # outputs.a.b: the output is a
                    name = name["operator"]["operands"]["operand_1"]
                if isinstance(name, str):
                    found.append(name)
        for value in node.values():
            found += outputs_read(value, symbol)
    return found
