"""HTTP trigger route templates, parsed and matched as ASP.NET Core routing does for the host.

A template is refused (`RouteError`, start-up stops as the host's route builder throws) for
an unknown constraint, an optional parameter followed by a required segment, or a catch-all
that is not the last segment. Constraints are checked on the decoded value as ASP.NET's
constraint classes do: `int` is 32-bit and `long` 64-bit (optional sign, invariant digits),
`min`/`max`/`range` compare as 64-bit integers, `length`/`minlength`/`maxlength` count
characters, `regex(...)` searches case-insensitively (anchor it yourself), `alpha` is ASCII
letters. Literal segments match case-insensitively. The path reaching the route is decoded
except `%2F`, which stays encoded inside a parameter (Kestrel never decodes it).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_NUMBER = re.compile(r"\s*[+-]?(?:\d[\d,]*)?(?:\.\d*)?(?:[eE][+-]?\d+)?\s*")


class RouteError(ValueError):
    """The template is not one the host's route builder accepts."""


def _integer(value: str, bounds: tuple[int, int] = INT64) -> int | None:
    if not _INTEGER.fullmatch(value):
        return None
    number = int(value.strip())
    return number if bounds[0] <= number <= bounds[1] else None


def _number(value: str) -> bool:
    if not _NUMBER.fullmatch(value) or not any(c.isdigit() for c in value):
        return False
    try:
        float(value.strip().replace(",", ""))
    except ValueError:
        return False
    return True


def _guid(value: str) -> bool:
    try:
        uuid.UUID(value.strip())
    except ValueError:
        return False
    return True


def _datetime(value: str) -> bool:
    text = value.strip()
    for parse in (datetime.fromisoformat, lambda t: datetime.strptime(t, "%m/%d/%Y")):
        try:
            parse(text)
            return True
        except ValueError:
            continue
    return False


def _args(name: str, raw: str | None, count: tuple[int, ...]) -> list[str]:
    parts = [] if raw is None else [p.strip() for p in raw.split(",")]
    if len(parts) not in count:
        raise RouteError(f"constraint '{name}' takes {' or '.join(map(str, count))} argument(s)")
    return parts


def _int_arg(name: str, text: str) -> int:
    value = _integer(text)
    if value is None:
        raise RouteError(f"constraint '{name}' needs whole-number arguments, not {text!r}")
    return value


Check = Callable[[str], bool]


def _constraint(name: str, raw: str | None) -> Check:
    """One inline constraint as a check of the decoded value; RouteError if unknown."""
    key = name.lower()
    simple: dict[str, Check] = {
        "int": lambda v: _integer(v, INT32) is not None,
        "long": lambda v: _integer(v) is not None,
        "bool": lambda v: v.strip().lower() in ("true", "false"),
        "guid": _guid,
        "alpha": lambda v: re.fullmatch(r"[A-Za-z]*", v) is not None,
        "double": _number,
        "float": _number,
        "decimal": _number,
        "datetime": _datetime,
        "required": lambda v: v != "",
        "nonfile": lambda v: "." not in v.rsplit("/", 1)[-1],
        "file": lambda v: "." in v.rsplit("/", 1)[-1],
    }
    if key in simple:
        _args(name, raw, (0,))
        return simple[key]
    if key in ("min", "max", "minlength", "maxlength"):
        (bound,) = (_int_arg(name, a) for a in _args(name, raw, (1,)))
        if key == "min":
            return lambda v: (n := _integer(v)) is not None and n >= bound
        if key == "max":
            return lambda v: (n := _integer(v)) is not None and n <= bound
        if key == "minlength":
            return lambda v: len(v) >= bound
        return lambda v: len(v) <= bound
    if key in ("range", "length"):
        args = [_int_arg(name, a) for a in _args(name, raw, (1, 2) if key == "length" else (2,))]
        low, high = (args[0], args[0]) if len(args) == 1 else (args[0], args[1])
        if key == "range":
            return lambda v: (n := _integer(v)) is not None and low <= n <= high
        return lambda v: low <= len(v) <= high
    if key == "regex":
        if raw is None:
            raise RouteError("constraint 'regex' needs a pattern")
        try:
            pattern = re.compile(raw, re.IGNORECASE)
        except re.error as exc:
            raise RouteError(f"constraint 'regex({raw})' is not a valid pattern: {exc}") from None
        return lambda v: pattern.search(v) is not None
    raise RouteError(f"the constraint reference '{name}' could not be resolved to a type")


@dataclass
class Parameter:
    name: str
    optional: bool
    catch_all: bool
    default: str | None
    checks: list[Check] = field(default_factory=list)


_NAME = re.compile(r"(\*{1,2})?([A-Za-z_][A-Za-z0-9_]*)")


def parse_parameter(text: str) -> Parameter:
    """`name`, `*name`, `name?`, `name=default`, `name:c1:c2(args)` (the text inside braces)."""
    m = _NAME.match(text)
    if m is None:
        raise RouteError(f"'{{{text}}}' does not start with a parameter name")
    catch_all, name = bool(m.group(1)), m.group(2)
    rest = text[m.end() :]
    checks: list[Check] = []
    while rest.startswith(":"):
        c = re.match(r":([A-Za-z]+)", rest)
        if c is None:
            raise RouteError(f"'{{{text}}}': a constraint name is missing")
        rest = rest[c.end() :]
        raw = None
        if rest.startswith("("):  # arguments up to the ')' that ends this constraint
            end = _closing(rest)
            raw, rest = rest[1:end], rest[end + 1 :]
        checks.append(_constraint(c.group(1), raw))
    optional = rest == "?" or rest.startswith("?")
    if optional:
        rest = rest[1:]
    default = None
    if rest.startswith("="):
        default, rest = rest[1:], ""
    if rest:
        raise RouteError(f"'{{{text}}}': unexpected {rest!r}")
    if optional and default is not None:
        raise RouteError(f"'{{{text}}}': an optional parameter cannot have a default value")
    if catch_all and optional:
        raise RouteError(f"'{{{text}}}': a catch-all parameter cannot be marked optional")
    return Parameter(name, optional, catch_all, default, checks)


def _closing(rest: str) -> int:
    """Index of the ')' closing a constraint's arguments: the first ')' followed by the end,
    `:`, `?` or `=` (a regex may hold other parentheses)."""
    for i, ch in enumerate(rest):
        if ch == ")" and (i + 1 == len(rest) or rest[i + 1] in ":?="):
            return i
    raise RouteError(f"'{rest}': a constraint's '(' is never closed")


def _pieces(segment: str) -> list[str | Parameter]:
    """A segment as literals and parameters; `{{` and `}}` are literal braces."""
    out: list[str | Parameter] = []
    literal, i = "", 0
    while i < len(segment):
        ch = segment[i]
        if segment.startswith("{{", i) or segment.startswith("}}", i):
            literal, i = literal + ch, i + 2
        elif ch == "{":
            j, depth, text = i + 1, 0, ""
            while j < len(segment):  # doubled braces inside (regex quantifiers) are text
                if segment.startswith("{{", j) or segment.startswith("}}", j):
                    text, j = text + segment[j], j + 2
                    continue
                if segment[j] == "}" and depth == 0:
                    break
                text, j = text + segment[j], j + 1
            if j >= len(segment):
                raise RouteError(f"'{segment}': '{{' without a matching '}}'")
            if literal:
                out.append(literal)
                literal = ""
            out.append(parse_parameter(text))
            i = j + 1
        elif ch == "}":
            raise RouteError(f"'{segment}': '}}' without a matching '{{'")
        else:
            literal, i = literal + ch, i + 1
    if literal:
        out.append(literal)
    return out


@dataclass
class Route:
    """A parsed template; `match(path)` returns the route values or None."""

    template: str
    segments: list[list[str | Parameter]]

    def match(self, path: str) -> dict[str, str] | None:
        parts = [p for p in path.strip("/").split("/")] if path.strip("/") else []
        values: dict[str, str] = {}
        for index, pieces in enumerate(self.segments):
            first = pieces[0]
            if isinstance(first, Parameter) and first.catch_all:
                rest = "/".join(parts[index:])
                if rest:
                    if not all(check(rest) for check in first.checks):
                        return None
                    values[first.name] = rest
                elif first.default is not None:
                    values[first.name] = first.default
                return values
            if index >= len(parts):  # the path ended: the rest must be optional
                for later in self.segments[index:]:
                    param = later[0] if len(later) == 1 else None
                    if not isinstance(param, Parameter) or not (
                        param.optional or param.default is not None or param.catch_all
                    ):
                        return None
                    if param.default is not None:
                        values[param.name] = param.default
                return values
            found = _match_segment(pieces, parts[index])
            if found is None:
                return None
            values.update(found)
        return values if len(parts) == len(self.segments) else None


def _match_segment(pieces: list[str | Parameter], text: str) -> dict[str, str] | None:
    pattern = ""
    for piece in pieces:
        if isinstance(piece, str):
            pattern += re.escape(piece)
        else:
            pattern += f"(?P<{piece.name}>.+?)" if len(pieces) > 1 else f"(?P<{piece.name}>.+)"
    m = re.fullmatch(pattern, text, re.IGNORECASE | re.DOTALL)
    if m is None:
        return None
    values = {}
    for piece in pieces:
        if isinstance(piece, Parameter):
            value = m.group(piece.name)
            if not all(check(value) for check in piece.checks):
                return None
            values[piece.name] = value
    return values


def compile_route(template: str) -> Route:
    """Parse a template as the host's route builder does; RouteError if it would refuse it."""
    segments = [_pieces(s) for s in template.strip("/").split("/")] if template.strip("/") else []
    names: set[str] = set()
    for index, pieces in enumerate(segments):
        if not pieces:
            raise RouteError(f"'{template}': empty segment")
        last = index == len(segments) - 1
        for piece in pieces:
            if not isinstance(piece, Parameter):
                continue
            if piece.name.lower() in names:
                raise RouteError(f"'{template}': parameter '{piece.name}' appears twice")
            names.add(piece.name.lower())
            if piece.catch_all and (not last or len(pieces) > 1):
                raise RouteError(
                    f"'{template}': a catch-all parameter can only be the last segment"
                )
            if piece.optional and len(pieces) > 1 and piece is not pieces[-1]:
                raise RouteError(f"'{template}': an optional parameter must end its segment")
        if any(isinstance(p, Parameter) and p.optional for p in pieces) and not last:
            for later in segments[index + 1 :]:
                param = later[0] if len(later) == 1 else None
                if not isinstance(param, Parameter) or not (
                    param.optional or param.catch_all or param.default is not None
                ):
                    raise RouteError(
                        f"'{template}': an optional parameter must be followed only by "
                        "optional segments"
                    )
    return Route(template, segments)


def decoded_path(raw: str) -> str:
    """A raw request path as Kestrel hands it to routing: percent-decoded except `%2F`."""
    return "".join(
        part if part.lower() == "%2f" else unquote(part) for part in re.split(r"(%2[fF])", raw)
    )
