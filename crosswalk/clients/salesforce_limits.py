"""Salesforce's documented limits, as the client lays its calls out to fit them.

Each rule is quoted where it is used; docs/sandbox.md lists them with their sources, and the
sandbox refuses calls that break them, as a real org does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus

from simple_salesforce.format import format_soql

COLLECTION_SIZE = 200  # records per sObject Collections call
MAX_CHUNKS = 10  # type chunks Salesforce processes in one collections call
QUERY_BATCH = 2000  # rows per query page, child rows included (Query Options Header)
SOQL_MAX_CHARS = 100_000  # "SOQL statement ... By default, 100,000 characters"
# "the maximum length for the combined URI and headers is 16,384 bytes" (414 / 431 beyond):
# a query travels as ?q=..., so the encoded statement keeps well under it, leaving room for
# the path, the headers and a bearer token.
URI_BUDGET = 12_000


def collection_calls(
    records: Sequence[Mapping[str, Any]], size: int = COLLECTION_SIZE
) -> list[list[dict[str, Any]]]:
    """Records laid out for sObject Collections calls that a real org accepts.

    Salesforce processes a mixed-type request in chunks, a new chunk wherever the type
    changes, and "a single request can process up to 10 chunks" (Update Records Using sObject
    Collections); one Id twice in a call is refused ("Duplicate Id Specified"). So records
    of one Id are merged (later fields win), types are grouped in the order they first
    appear, and calls take `size` records each and never an 11th chunk (more than ten types).
    """
    merged: dict[str, dict[str, Any]] = {}
    for record in records:
        key = str(record["Id"])
        merged[key] = {**merged[key], **record} if key in merged else dict(record)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for record in merged.values():
        by_type.setdefault(record["attributes"]["type"], []).append(record)
    calls: list[list[dict[str, Any]]] = []
    chunks = 0
    for name, group in by_type.items():
        for record in group:
            last = calls[-1][-1]["attributes"]["type"] if calls and calls[-1] else None
            opens = last != name  # a new chunk starts in this call
            if not calls or len(calls[-1]) == size or (opens and chunks == MAX_CHUNKS):
                calls.append([])
                chunks, opens = 0, True
            chunks += opens
            calls[-1].append(record)
    return [call for call in calls if call]


def query_pages(rows_per_record: Iterable[int], batch: int = QUERY_BATCH) -> int:
    """The query calls a result needs at least: "Child objects count toward the number of
    records for the batch size" (Query Options Header), and a parent's row travels with its
    inline children, so each record costs 1 + its children and a page holds `batch` rows.
    (A record with more children than Salesforce sends inline costs further calls for them;
    `SalesforceClient.page_children` counts those.)"""
    pages, used = 0, 0
    for children in rows_per_record:
        cost = 1 + children
        if pages == 0 or used + cost > batch:
            pages, used = pages + 1, 0
        used += cost
    return pages


def soql_in_batches(template: str, values: Iterable[str]) -> Iterator[str]:
    """`template` (with one `{}` for the list, as `format_soql` reads it) once per slice of
    `values` that keeps the statement within SOQL's length and its encoded form within the
    URI budget; every value is escaped by `format_soql`."""
    base = format_soql(template, ["x"])
    plain, encoded = len(base) - 3, len(quote_plus(base)) - 3  # without the one "'x'"
    batch: list[str] = []
    size = [plain, encoded]
    for value in dict.fromkeys(values):
        literal = format_soql("{}", value)
        grow = [len(literal) + 1, len(quote_plus(literal)) + 3]  # and a "," (%2C)
        full = size[0] + grow[0] > SOQL_MAX_CHARS or size[1] + grow[1] > URI_BUDGET
        if batch and full:
            yield format_soql(template, batch)
            batch, size = [], [plain, encoded]
        batch.append(value)
        size = [size[0] + grow[0], size[1] + grow[1]]
    if batch:
        yield format_soql(template, batch)


_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
_STATE_CODE = re.compile(r"^[A-Z0-9]{1,3}$")
_ADDRESS_PREFIXES = ("Billing", "Shipping", "Mailing")


def address_fields(fields: Mapping[str, Any], picklists: bool) -> dict[str, Any]:
    """Address fields as an org with State and Country/Territory Picklists takes them.

    There the text fields accept only integration values (full names by default) and the code
    fields ISO codes, each keeping the other in step (Help, "State, Country, and Territory
    Picklist Fields"); Crosswalk holds countries as ISO codes, so they go to `...CountryCode`,
    and a region that looks like a code (`TX`, `NSW`) to `...StateCode`; a region written out
    stays text for the org to match. Without the picklists the text fields take anything.
    """
    out = dict(fields)
    if not picklists:
        return out
    for prefix in _ADDRESS_PREFIXES:
        for name, code in ((f"{prefix}Country", _COUNTRY_CODE), (f"{prefix}State", _STATE_CODE)):
            if name in out:
                value = out.pop(name)
                if value is None or code.match(str(value)):
                    out[f"{name}Code"] = value
                else:
                    out[name] = value
    return out
