"""Which functions the app has, and whether devhost can serve each of them."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("devhost")

SERVED_TRIGGERS = {
    "httpTrigger",
    "orchestrationTrigger",
    "activityTrigger",
    "entityTrigger",
    "timerTrigger",
    "eventGridTrigger",
}
LATER_TRIGGERS: set[str] = set()  # triggers announced at start-up but not served (none now)
SERVED_BINDINGS = {"durableClient", "http"}


class UnsupportedBinding(RuntimeError):
    """The app uses a trigger or binding devhost cannot serve; start-up stops."""


_EXPRESSION = re.compile(r"%([A-Za-z0-9_.:-]+)%")
_NOT_RESOLVED = {"type", "direction", "name"}


def resolve_expressions(
    described: list[dict[str, Any]], settings: Mapping[str, str]
) -> list[dict[str, Any]]:
    """`%NAME%` in binding properties -> the app setting NAME, as the host resolves them:
    names case-insensitively (the host's configuration is), and a function naming a setting
    that does not exist is not loaded (an error in the log names the function, property and
    setting); the rest of the app starts, as on Azure.
    """
    by_name = {k.lower(): v for k, v in settings.items()}
    resolved = []
    for item in described:
        try:
            bindings = [_resolved(binding, by_name, item["name"]) for binding in item["bindings"]]
        except LookupError as exc:
            log.error("function '%s' is disabled: %s", item["name"], exc.args[0])
            continue
        resolved.append({**item, "bindings": bindings})
    return resolved


def _resolved(binding: dict[str, Any], settings: Mapping[str, str], fn: str) -> dict[str, Any]:
    out = dict(binding)
    for prop, value in binding.items():
        if prop in _NOT_RESOLVED or not isinstance(value, str):
            continue

        def lookup(match: re.Match[str], prop: str = prop) -> str:
            name = match.group(1)
            if name.lower() not in settings:
                raise LookupError(
                    f"'%{name}%' in binding property '{prop}' does not resolve to a value "
                    f"(no app setting '{name}')"
                )
            return settings[name.lower()]

        out[prop] = _EXPRESSION.sub(lookup, value)
    return out


@dataclass
class Function:
    name: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]

    @property
    def kind(self) -> str:
        return str(self.trigger["type"])

    def binding(self, type_: str) -> dict[str, Any] | None:
        return next((b for b in self.bindings if b.get("type") == type_), None)


@dataclass
class FunctionIndex:
    """Functions by kind, names matched case-insensitively as the host does."""

    orchestrators: dict[str, Function] = field(default_factory=dict)
    activities: dict[str, Function] = field(default_factory=dict)
    http: list[Function] = field(default_factory=list)
    entities: dict[str, Function] = field(default_factory=dict)
    timers: list[Function] = field(default_factory=list)
    event_grid: dict[str, Function] = field(default_factory=dict)
    not_served: list[Function] = field(default_factory=list)

    @classmethod
    def build(cls, described: list[dict[str, Any]]) -> FunctionIndex:
        index = cls()
        for item in described:
            bindings = item["bindings"]
            triggers = [b for b in bindings if str(b.get("type", "")).endswith("Trigger")]
            if len(triggers) != 1:
                raise UnsupportedBinding(f"function '{item['name']}' has no single trigger")
            fn = Function(item["name"], triggers[0], bindings)
            for b in bindings:
                if b is fn.trigger:
                    continue
                if b.get("type") not in SERVED_BINDINGS:
                    raise UnsupportedBinding(
                        f"function '{fn.name}': binding type '{b.get('type')}' is not supported"
                    )
            if fn.kind in LATER_TRIGGERS:
                log.warning("function '%s': %s not served yet by devhost", fn.name, fn.kind)
                index.not_served.append(fn)
            elif fn.kind not in SERVED_TRIGGERS:
                raise UnsupportedBinding(
                    f"function '{fn.name}': trigger type '{fn.kind}' is not supported"
                )
            elif fn.kind == "orchestrationTrigger":
                index.orchestrators[fn.name.lower()] = fn
                if fn.trigger.get("orchestration"):
                    index.orchestrators[str(fn.trigger["orchestration"]).lower()] = fn
            elif fn.kind == "activityTrigger":
                index.activities[fn.name.lower()] = fn
                if fn.trigger.get("activity"):
                    index.activities[str(fn.trigger["activity"]).lower()] = fn
            elif fn.kind == "entityTrigger":
                index.entities[fn.name.lower()] = fn
                if fn.trigger.get("entityName"):
                    index.entities[str(fn.trigger["entityName"]).lower()] = fn
            elif fn.kind == "timerTrigger":
                index.timers.append(fn)
            elif fn.kind == "eventGridTrigger":
                index.event_grid[fn.name.lower()] = fn
            else:
                index.http.append(fn)
        return index
