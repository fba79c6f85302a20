"""SOQL text -> syntax tree, for the subset integrations use; anything else is MALFORMED_QUERY.

Supported: ``SELECT`` fields (parent paths such as ``Account.Name``, one level of child
subqueries ``(SELECT ... FROM Contacts ...)``, ``COUNT()``) ``FROM`` one object, ``WHERE``
with ``= != <> < > <= >= LIKE IN NOT IN``, ``AND OR NOT`` and parentheses (AND and OR may
not be mixed without parentheses, as in SOQL), semi-joins ``Id IN (SELECT ...)``, string,
number, boolean, null, date, datetime and relative date literals, ``ORDER BY`` with
``ASC/DESC`` and ``NULLS FIRST/LAST``, ``LIMIT`` and ``OFFSET``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import SfError

_TOKEN = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<string>'(?:[^'\\]|\\.)*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})(?![\dT:])
    |(?P<number>[+-]?\d+(?:\.\d+)?)(?![A-Za-z_])
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?)
    |(?P<op><>|!=|<=|>=|=|<|>)
    |(?P<punct>[(),])
    """,
    re.X,
)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_UNSUPPORTED = {
    "GROUP",
    "HAVING",
    "WITH",
    "FOR",
    "USING",
    "TYPEOF",
    "INCLUDES",
    "EXCLUDES",
    "FIELDS",
    "ROLLUP",
    "CUBE",
    "UPDATE",
    "VIEW",
    "REFERENCE",
    "SCOPE",
}


@dataclass
class Token:
    kind: str
    value: Any
    pos: int
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "ident" else ""


@dataclass
class FieldRef:
    path: list[str]
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass
class Literal:
    kind: str  # string number boolean null date datetime relative
    value: Any
    pos: int


@dataclass
class Compare:
    field: FieldRef
    op: str  # = != < > <= >= LIKE IN NOT IN
    value: Literal | list[Literal] | Query


@dataclass
class BoolOp:
    op: str  # AND OR
    terms: list[Any]


@dataclass
class Not:
    term: Any


@dataclass
class OrderItem:
    field: FieldRef
    desc: bool
    nulls_first: bool


@dataclass
class Query:
    sobject: str
    sobject_pos: int
    items: list[FieldRef | Query] = field(default_factory=list)
    count: bool = False
    where: Any = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


def soql_error(query: str, pos: int, code: str, message: str) -> SfError:
    """The org's message layout: the query, a caret under the column, then the reason."""
    line_start = query.rfind("\n", 0, pos) + 1
    row = query.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    line_end = query.find("\n", pos)
    line = query[line_start : line_end if line_end >= 0 else len(query)]
    return SfError(
        400, code, f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}"
    )


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if m is None:
            bad = query[pos:].split(None, 1)[0] if query[pos:].strip() else query[pos]
            raise soql_error(query, pos, "MALFORMED_QUERY", f"unexpected token: '{bad}'")
        kind = m.lastgroup or ""
        text = m.group()
        if kind != "ws":
            value: Any = text
            if kind == "string":
                value = _unescape(query, pos, text[1:-1])
            tokens.append(Token(kind, value, pos, text))
        pos = m.end()
    tokens.append(Token("eof", None, len(query), "<EOF>"))
    return tokens


def _unescape(query: str, pos: int, raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            nxt = raw[i + 1] if i + 1 < len(raw) else ""
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in {"%", "_"}:
                out.append("\\" + nxt)  # kept: LIKE needs to know the wildcard was escaped
            else:
                raise soql_error(
                    query, pos, "MALFORMED_QUERY", f"Invalid string literal '{raw}'. Illegal escape"
                )
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


class Parser:
    """Recursive descent over the token list; every error names the offending token."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0

    # -- helpers ---------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def error(self, tok: Token | None = None) -> SfError:
        tok = tok or self.tok
        return soql_error(self.query, tok.pos, "MALFORMED_QUERY", f"unexpected token: '{tok.text}'")

    def is_kw(self, word: str, tok: Token | None = None) -> bool:
        return (tok or self.tok).upper == word

    def expect_kw(self, word: str) -> Token:
        if not self.is_kw(word):
            raise self.error()
        return self.advance()

    def expect_punct(self, p: str) -> Token:
        if not (self.tok.kind == "punct" and self.tok.value == p):
            raise self.error()
        return self.advance()

    def is_punct(self, p: str) -> bool:
        return self.tok.kind == "punct" and self.tok.value == p

    def unsupported(self) -> None:
        if self.tok.upper in _UNSUPPORTED:
            raise self.error()

    # -- grammar ---------------------------------------------------------------------
    def parse(self) -> Query:
        q = self.query_body(sub=False)
        if self.tok.kind != "eof":
            raise self.error()
        return q

    def query_body(self, *, sub: bool) -> Query:
        self.expect_kw("SELECT")
        items: list[FieldRef | Query] = []
        count = False
        while True:
            if self.is_kw("COUNT") and self.peek().kind == "punct" and self.peek().value == "(":
                self.advance()
                self.advance()
                if not self.is_punct(")"):
                    raise self.error()  # COUNT(field) is an aggregate: not supported
                self.advance()
                count = True
            elif self.is_punct("("):
                if sub:
                    raise self.error()
                self.advance()
                inner = self.query_body(sub=True)
                self.expect_punct(")")
                items.append(inner)
            else:
                items.append(self.field_ref())
            if self.is_punct(","):
                self.advance()
                continue
            break
        if count and items:
            raise self.error()
        tok = self.expect_kw("FROM")
        del tok
        name_tok = self.advance()
        if name_tok.kind != "ident" or "." in name_tok.text:
            raise self.error(name_tok)
        q = Query(sobject=name_tok.text, sobject_pos=name_tok.pos, items=items, count=count)
        if self.tok.kind == "ident" and self.tok.upper not in {
            "WHERE",
            "ORDER",
            "LIMIT",
            "OFFSET",
        }:
            raise self.error()  # aliases, USING SCOPE, WITH, GROUP BY ...
        if self.is_kw("WHERE"):
            self.advance()
            q.where = self.condition()
        self.unsupported()
        if self.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            q.order = self.order_items()
        self.unsupported()
        if self.is_kw("LIMIT"):
            self.advance()
            q.limit = self.integer()
        if self.is_kw("OFFSET"):
            self.advance()
            q.offset = self.integer()
        self.unsupported()
        return q

    def integer(self) -> int:
        tok = self.advance()
        if tok.kind != "number" or not tok.text.isdigit():
            raise self.error(tok)
        return int(tok.text)

    def field_ref(self) -> FieldRef:
        tok = self.tok
        if tok.kind != "ident" or tok.upper in _UNSUPPORTED or ":" in tok.text:
            raise self.error()
        if self.peek().kind == "punct" and self.peek().value == "(":
            raise self.error()  # functions: toLabel(), FORMAT(), MAX() ...
        self.advance()
        return FieldRef(tok.text.split("."), tok.pos)

    def order_items(self) -> list[OrderItem]:
        items = []
        while True:
            ref = self.field_ref()
            desc = False
            if self.is_kw("ASC"):
                self.advance()
            elif self.is_kw("DESC"):
                self.advance()
                desc = True
            nulls_first = not desc
            if self.is_kw("NULLS"):
                self.advance()
                if self.is_kw("FIRST"):
                    nulls_first = True
                elif self.is_kw("LAST"):
                    nulls_first = False
                else:
                    raise self.error()
                self.advance()
            items.append(OrderItem(ref, desc, nulls_first))
            if not self.is_punct(","):
                return items
            self.advance()

    def condition(self) -> Any:
        terms = [self.unary()]
        op: str | None = None
        while self.tok.upper in {"AND", "OR"}:
            if op is not None and self.tok.upper != op:
                raise self.error()  # SOQL needs parentheses to mix AND and OR
            op = self.advance().upper
            terms.append(self.unary())
        return terms[0] if op is None else BoolOp(op, terms)

    def unary(self) -> Any:
        if self.is_kw("NOT"):
            self.advance()
            return Not(self.unary())
        if self.is_punct("("):
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Compare:
        ref = self.field_ref()
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            op = "!=" if tok.value == "<>" else tok.value
            return Compare(ref, op, self.literal())
        if self.is_kw("LIKE"):
            self.advance()
            return Compare(ref, "LIKE", self.literal())
        negate = False
        if self.is_kw("NOT"):
            self.advance()
            negate = True
        if self.is_kw("IN"):
            self.advance()
            return Compare(ref, "NOT IN" if negate else "IN", self.in_values())
        raise self.error()

    def in_values(self) -> list[Literal] | Query:
        self.expect_punct("(")
        if self.is_kw("SELECT"):
            sub = self.query_body(sub=True)
            self.expect_punct(")")
            return sub
        values = [self.literal()]
        while self.is_punct(","):
            self.advance()
            values.append(self.literal())
        self.expect_punct(")")
        return values

    def literal(self) -> Literal:
        tok = self.advance()
        if tok.kind in {"string", "date", "datetime"}:
            return Literal(tok.kind, tok.value, tok.pos)
        if tok.kind == "number":
            text = tok.text
            value: Any = float(text) if "." in text else int(text)
            return Literal("number", value, tok.pos)
        if tok.kind == "ident":
            word = tok.upper
            if word == "NULL":
                return Literal("null", None, tok.pos)
            if word in {"TRUE", "FALSE"}:
                return Literal("boolean", word == "TRUE", tok.pos)
            if word in {"TODAY", "YESTERDAY", "TOMORROW"} or re.fullmatch(
                r"(LAST|NEXT)_N_DAYS:\d+", word
            ):
                return Literal("relative", word, tok.pos)
        raise self.error(tok)


def parse(query: str) -> Query:
    return Parser(query).parse()
