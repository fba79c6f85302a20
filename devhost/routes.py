"""HTTP trigger route templates, matched the way ASP.NET routing does for Core Tools."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "bool": r"(?i:true|false)",
    "guid": r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}",
    "alpha": r"[A-Za-z]+",
    "double": r"-?\d+(?:\.\d+)?",
    "float": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
    "datetime": r"[^/]+",
}
_PARAM = re.compile(r"^\{(\*{0,2})([A-Za-z_][A-Za-z0-9_]*)((?::[^}?=]+)*)(\?)?(?:=([^}]*))?\}$")


@dataclass
class Route:
    """A compiled template; `match` returns route params or None."""

    template: str
    pattern: re.Pattern[str]
    defaults: dict[str, str]

    def match(self, path: str) -> dict[str, str] | None:
        stripped = path.strip("/")
        m = self.pattern.fullmatch("/" + stripped if stripped else "")
        if m is None:
            return None
        params = {k: v for k, v in m.groupdict().items() if v is not None}
        for key, value in self.defaults.items():
            params.setdefault(key, value)
        return params


def compile_route(template: str) -> Route:
    """`{x}`, `{x?}`, `{x=default}`, `{x:int}`, `{*rest}`; unknown constraints are tolerated."""
    segments = [s for s in template.strip("/").split("/") if s]
    regex = ""
    defaults: dict[str, str] = {}
    for segment in segments:
        m = _PARAM.match(segment)
        if m is None:
            if "{" in segment:  # parameter embedded in a literal: match it loosely
                part = re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}", r"(?P<\1>[^/]+)", segment)
                regex += "/" + part
            else:
                regex += "/" + re.escape(segment)
            continue
        catch_all, name, constraints, optional, default = m.groups()
        body = r".*" if catch_all else r"[^/]+"
        for constraint in filter(None, (constraints or "").split(":")):
            key = constraint.split("(")[0].lower()
            if key in _CONSTRAINTS:
                body = _CONSTRAINTS[key]
        if default is not None:
            defaults[name] = default
        if optional or default is not None or catch_all:
            regex += f"(?:/(?P<{name}>{body}))?"
        else:
            regex += f"/(?P<{name}>{body})"
    return Route(template, re.compile(regex, re.IGNORECASE), defaults)
