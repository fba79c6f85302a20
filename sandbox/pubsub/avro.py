"""Change event schemas shaped as Salesforce's, and the Avro payload of each change event.

Salesforce's CDC schemas (Change Data Capture guide, "Change Event Message Structure" and the
Pub/Sub API guide, "Event Deserialization"): a record named ``<Object>ChangeEvent``; field 0 is
``ChangeEventHeader``; every body field is a union with null; compound fields (addresses, a
Contact's Name) are nested records whose components drop the prefix (``BillingStreet`` is
``BillingAddress.Street``); datetimes are epoch milliseconds. The bitmaps (``changedFields``,
``nulledFields``, ``diffFields``) set bit *i* for field *i*, with ``"<pos>-0x<hex>"`` entries
for a compound's components.

Each payload is built from the CometD event the org already made for the same change, so
both forms carry the same change by construction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import fastavro

from ..salesforce.schema import OBJECTS
from ..salesforce.sobject import Field, SObjectType

_SKIP = {"Id", "IsDeleted", "SystemModstamp"}
_PERSON_NAME = ("Salutation", "FirstName", "LastName")
_CHANGE_TYPES = [
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
]
_STRINGS = {"type": "array", "items": "string"}
HEADER = {
    "type": "record",
    "name": "ChangeEventHeader",
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": _STRINGS},
        {
            "name": "changeType",
            "type": {"type": "enum", "name": "ChangeType", "symbols": _CHANGE_TYPES},
        },
        {"name": "changeOrigin", "type": "string"},
        {"name": "transactionKey", "type": "string"},
        {"name": "sequenceNumber", "type": "int"},
        {"name": "commitTimestamp", "type": "long"},
        {"name": "commitNumber", "type": "long"},
        {"name": "commitUser", "type": "string"},
        {"name": "nulledFields", "type": _STRINGS},
        {"name": "diffFields", "type": _STRINGS},
        {"name": "changedFields", "type": _STRINGS},
    ],
}
_AVRO = {"boolean": "boolean", "double": "double", "currency": "double", "percent": "double"}


def _leaf(f: Field, name: str | None = None) -> dict[str, Any]:
    if f.type == "datetime":
        return {"name": name or f.name, "type": ["null", "long"], "doc": "Data:DateTime"}
    if f.type == "date":
        return {"name": name or f.name, "type": ["null", "int"], "doc": "Data:Date"}
    if f.type == "int":
        return {"name": name or f.name, "type": ["null", "int"]}
    return {"name": name or f.name, "type": ["null", _AVRO.get(f.type, "string")]}


def _nested(name: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    for p in parts:
        p["default"] = None
    record = {"type": "record", "name": name, "fields": parts}
    return {"name": name, "type": ["null", record], "default": None}


def _schema_json(sobject: SObjectType) -> dict[str, Any]:
    fields: list[dict[str, Any]] = [{"name": "ChangeEventHeader", "type": HEADER}]
    components = {part for f in sobject.fields.values() for part in f.compound_of}
    if sobject.name == "Contact":
        components |= set(_PERSON_NAME)
    for f in sobject.fields.values():
        if f.name in _SKIP or f.name in components:
            continue
        if f.compound_of:
            prefix = f.name[: -len("Address")]
            parts = [_leaf(sobject.fields[p], p[len(prefix) :]) for p in f.compound_of]
            fields.append(_nested(f.name, parts))
        elif f.calculated and sobject.name == "Contact":
            fields.append(_nested("Name", [_leaf(sobject.fields[p]) for p in _PERSON_NAME]))
        else:
            spec = _leaf(f)
            spec["default"] = None
            fields.append(spec)
    return {
        "type": "record",
        "name": f"{sobject.name}ChangeEvent",
        "namespace": "com.sforce.eventbus",
        "fields": fields,
    }


@dataclass(frozen=True)
class EventSchema:
    """One object's change event schema: its id (a hash of the JSON, as Salesforce's are
    stable per schema version), the JSON text GetSchema returns, and the parsed form."""

    entity: str
    schema_id: str
    schema_json: str
    parsed: Any
    positions: dict[str, int]  # top-level field -> position
    children: dict[str, list[str]]  # compound -> component names in order


def _event_schema(sobject: SObjectType) -> EventSchema:
    raw = _schema_json(sobject)
    text = json.dumps(raw, separators=(",", ":"))
    children = {
        f["name"]: [c["name"] for c in f["type"][1]["fields"]]
        for f in raw["fields"][1:]
        if isinstance(f["type"], list) and isinstance(f["type"][1], dict)
    }
    return EventSchema(
        entity=sobject.name,
        schema_id=hashlib.sha256(text.encode()).hexdigest()[:22],
        schema_json=text,
        parsed=fastavro.parse_schema(raw),
        positions={f["name"]: i for i, f in enumerate(raw["fields"])},
        children=children,
    )


SCHEMAS: dict[str, EventSchema] = {
    name: _event_schema(t) for name, t in OBJECTS.items() if t.emits_change_events
}
SCHEMAS_BY_ID = {s.schema_id: s for s in SCHEMAS.values()}


def _bitmap(schema: EventSchema, names: list[str]) -> list[str]:
    top = 0
    nested: dict[int, int] = {}
    for name in names:
        parent, _, child = name.partition(".")
        pos = schema.positions[parent]
        if child:
            nested[pos] = nested.get(pos, 0) | 1 << schema.children[parent].index(child)
        else:
            top |= 1 << pos
    if not top and not nested:
        return []
    return [hex(top)] + [f"{pos}-{hex(bits)}" for pos, bits in sorted(nested.items())]


def _epoch_ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _avro_value(spec: dict[str, Any], value: Any) -> Any:
    if value is None:
        return None
    if spec.get("doc") == "Data:DateTime":
        return _epoch_ms(value)
    if spec.get("doc") == "Data:Date":
        return (dt.date.fromisoformat(value) - dt.date(1970, 1, 1)).days
    if spec["type"][1] == "double":
        return float(value)
    return value


def encode(cometd: dict[str, Any]) -> tuple[EventSchema, bytes]:
    """The Avro payload of one CometD change event (``data`` of the org's CloudEvent)."""
    payload = cometd["payload"]
    header = dict(payload["ChangeEventHeader"])
    schema = SCHEMAS[header["entityName"]]
    raw = json.loads(schema.schema_json)
    record: dict[str, Any] = {}
    for spec in raw["fields"][1:]:
        value = payload.get(spec["name"])
        if isinstance(spec["type"][1], dict):
            parts = value or {}
            inner = {
                c["name"]: _avro_value(c, parts.get(c["name"])) for c in spec["type"][1]["fields"]
            }
            record[spec["name"]] = inner if value is not None else None
        else:
            record[spec["name"]] = _avro_value(spec, value)
    changed = list(header.get("changedFields") or [])
    nulled = []
    if header["changeType"] == "UPDATE":
        for name in changed:
            parent, _, child = name.partition(".")
            value = payload.get(parent)
            if (value.get(child) if child and isinstance(value, dict) else value) is None:
                nulled.append(name)
    header.update(
        changedFields=_bitmap(schema, changed),
        nulledFields=_bitmap(schema, nulled),
        diffFields=[],
        changeOrigin=header.get("changeOrigin") or "",
        commitUser=header.get("commitUser") or "",
    )
    record["ChangeEventHeader"] = header
    out = io.BytesIO()
    fastavro.schemaless_writer(out, schema.parsed, record)
    return schema, out.getvalue()
