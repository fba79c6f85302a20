"""Query cursors as Salesforce pages them: child rows count toward the batch size, large child
subqueries page on their own cursor, and cursors expire.

Sources (docs/sandbox.md, "Rules the stand-in follows"):
- Query Options Header: "Child objects count toward the number of records for the batch
  size ... The default is 2,000; the minimum is 200, and the maximum is 2,000."
- SOQL and SOSL Reference, "Understanding Query Results": a subquery's result is a query
  result of its own, "you might need to use queryMore() to retrieve all the records if there
  are many children". How many children come inline is not documented; client code and
  forum answers report 200, which is what the stand-in uses (CHILD_INLINE).
- SOAP API queryMore(): "A queryMore() call on a parent object invalidates all child cursors
  in the previous result set."
- App Limits, API Query Cursor Limits: cursors "are available for 2 days, including results
  in nested queries"; an expired or unknown one is INVALID_QUERY_LOCATOR.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import SfError
from .ids import make_id

CHILD_INLINE = 200  # child rows a parent carries inline before its subquery pages
LIFETIME_MS = 2 * 24 * 3600 * 1000
MAX_CURSORS = 5000  # a memory bound only: Salesforce has no limit on open cursors

Project = Callable[[Any], dict[str, Any]]


@dataclass
class _Cursor:
    rows: list[Any]  # parent rows (projected on the way out), or projected child records
    project: Project | None  # None: rows are already projected child records
    version: str
    created_ms: int
    children: list[str] = field(default_factory=list)  # child cursors of the last page


class Cursors:
    """Open query locators; the caller holds the org lock."""

    def __init__(self) -> None:
        self._open: OrderedDict[str, _Cursor] = OrderedDict()
        self._ids = itertools.count(1)

    def clear(self) -> None:
        self._open.clear()

    def first_page(
        self, rows: list[Any], project: Project, version: str, batch: int, now_ms: int
    ) -> dict[str, Any]:
        cursor = _Cursor(rows, project, version, now_ms)
        return self._page(None, cursor, 0, batch, now_ms)

    def next_page(self, locator: str, batch: int, now_ms: int) -> dict[str, Any]:
        loc_id, _, offset_text = locator.rpartition("-")
        cursor = self._open.get(loc_id)
        if cursor is None or not offset_text.isdigit():
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        if now_ms - cursor.created_ms > LIFETIME_MS:
            self._drop(loc_id)
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        for child in cursor.children:  # moving the parent on ends its children's cursors
            self._open.pop(child, None)
        cursor.children = []
        return self._page(loc_id, cursor, int(offset_text), batch, now_ms)

    def _page(
        self, loc_id: str | None, cursor: _Cursor, offset: int, batch: int, now_ms: int
    ) -> dict[str, Any]:
        records: list[dict[str, Any]] = []
        used = 0
        index = offset
        while index < len(cursor.rows):
            record = cursor.project(cursor.rows[index]) if cursor.project else cursor.rows[index]
            cost = 1 + self._page_children(record, cursor, now_ms)
            if records and used + cost > batch:
                break
            records.append(record)
            used += cost
            index += 1
        done = index >= len(cursor.rows)
        out: dict[str, Any] = {"totalSize": len(cursor.rows), "done": done}
        if not done:
            if loc_id is None:
                loc_id = self._add(cursor)
            out["nextRecordsUrl"] = f"/services/data/v{cursor.version}/query/{loc_id}-{index}"
        elif loc_id is not None:  # the last page's child cursors stay usable
            self._open.pop(loc_id, None)
        out["records"] = records
        return out

    def _page_children(self, record: dict[str, Any], parent: _Cursor, now_ms: int) -> int:
        """Cut each large child result to CHILD_INLINE rows behind a cursor of its own;
        returns the child rows left inline (they count toward the batch)."""
        inline = 0
        for value in record.values():
            if not (isinstance(value, dict) and "records" in value and "done" in value):
                continue
            children = value["records"]
            if len(children) > CHILD_INLINE:
                child = _Cursor(children, None, parent.version, now_ms)
                child_id = self._add(child)
                parent.children.append(child_id)
                value["records"] = children[:CHILD_INLINE]
                value["done"] = False
                value["nextRecordsUrl"] = (
                    f"/services/data/v{parent.version}/query/{child_id}-{CHILD_INLINE}"
                )
            inline += len(value["records"])
        return inline

    def _add(self, cursor: _Cursor) -> str:
        loc_id = make_id("01g", next(self._ids))
        self._open[loc_id] = cursor
        while len(self._open) > MAX_CURSORS:
            self._open.popitem(last=False)
        return loc_id

    def _drop(self, loc_id: str) -> None:
        cursor = self._open.pop(loc_id, None)
        for child in cursor.children if cursor else []:
            self._open.pop(child, None)
