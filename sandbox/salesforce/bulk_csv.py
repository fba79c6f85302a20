"""CSV the way Bulk API 2.0 reads and writes it.

Sources ("Bulk API 2.0 and Bulk API Developer Guide"): "Prepare CSV Files" (UTF-8, a header
row of field API names, the job's `columnDelimiter` and `lineEnding`), "Valid CSV Record Rows"
(a value holding the delimiter, a line break or a double quote is enclosed in double quotes,
a double quote inside is doubled; values are not trimmed; on update an empty value is ignored
and `#N/A` sets null), "Valid Date Format in Records" and the query results examples (every
value enclosed in double quotes, datetimes as `2024-01-02T03:04:05.000Z`).

Not pinned down by the docs: whether a null in query results is an empty unquoted field or
`""`; here a null is empty and unquoted, every other value quoted, so the two differ.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
NULL_MARKER = "#N/A"


class CsvProblem(ValueError):
    """The uploaded data cannot be read; the job fails with this message."""


def cell(value: Any, field_type: str | None = None) -> str | None:
    """One stored value as Bulk API 2.0 writes it; None stays None (an empty field)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if field_type == "datetime" and isinstance(value, str) and value.endswith("+0000"):
        return value[:-5] + "Z"
    return str(value)


def _quoted(value: str | None) -> str:
    if value is None:
        return ""
    return '"' + value.replace('"', '""') + '"'


def write(
    header: list[str], rows: Iterable[list[str | None]], delimiter: str, line_ending: str
) -> bytes:
    """Header and rows, every value quoted, nulls empty (query results, ingest results)."""
    sep, end = DELIMITERS[delimiter], LINE_ENDINGS[line_ending]
    lines = [sep.join(_quoted(h) for h in header)]
    lines.extend(sep.join(_quoted(v) for v in row) for row in rows)
    return (end.join(lines) + end).encode("utf-8")


def read(data: bytes, delimiter: str, line_ending: str) -> tuple[list[str], list[list[str]]]:
    """An uploaded file: its header and rows, or CsvProblem naming what is wrong."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CsvProblem("InvalidBatch : Failed to parse CSV: the data is not UTF-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    first_break = text.find("\n")
    if first_break < 0:
        raise CsvProblem("InvalidBatch : Failed to parse CSV header: no line ending")
    header_crlf = first_break > 0 and text[first_break - 1] == "\r"
    if header_crlf != (line_ending == "CRLF"):
        raise CsvProblem(
            "ClientInputError : LineEnding is invalid on user data. "
            f"Current LineEnding setting is {line_ending}"
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[delimiter], strict=True)
    try:
        header = next(reader)
        rows = [_row(row, len(header), n) for n, row in enumerate(reader, start=2) if row]
    except csv.Error as exc:
        raise CsvProblem(f"InvalidBatch : Failed to parse CSV: {exc}") from None
    if not header or any(not name for name in header):
        raise CsvProblem("InvalidBatch : Field name not provided in the header")
    return header, rows


def _row(row: list[str], width: int, line: int) -> list[str]:
    if len(row) != width:
        raise CsvProblem(
            f"InvalidBatch : Failed to parse CSV: row {line} has {len(row)} values, "
            f"the header {width}"
        )
    return row


def chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
