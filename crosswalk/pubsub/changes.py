"""A Pub/Sub API change event (Avro) -> the CometD JSON form `salesforce_change_events` reads.

The two forms differ (Salesforce's Change Data Capture guide, "Pub/Sub API" and "CometD"):
Pub/Sub sends every field of the record, unchanged ones null, and lists changed, nulled and
diff fields as bitmaps over the schema's field positions; datetimes are epoch milliseconds.
CometD sends, for an UPDATE, only the changed fields (nulled ones as null), for CREATE and
UNDELETE the non-null ones, for DELETE and gap events none; the header lists field names
(compound components as ``Parent.Child``) and datetimes are ISO 8601 strings.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import fastavro

HEADER = "ChangeEventHeader"
BITMAP_FIELDS = ("changedFields", "nulledFields", "diffFields")
# Change types whose body CometD carries: all non-null fields, or the changed ones.
_WHOLE_RECORD = frozenset({"CREATE", "UNDELETE"})
_CHANGED_ONLY = frozenset({"UPDATE"})


class ConversionError(ValueError):
    """The event cannot be decoded or converted; it is dead-lettered with this reason."""


@dataclass(frozen=True)
class SchemaField:
    """One Avro field at its position; ``children`` for a compound field's nested record."""

    name: str
    kind: str  # "datetime", "date" or "value"
    children: tuple[SchemaField, ...] = ()


@dataclass(frozen=True)
class ChangeSchema:
    """A change event's writer schema: parsed for fastavro, and its fields by position."""

    schema_id: str
    fields: tuple[SchemaField, ...]
    parsed: Any = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, schema_id: str, schema_json: str) -> ChangeSchema:
        try:
            raw = json.loads(schema_json)
            parsed = fastavro.parse_schema(raw)
        except (ValueError, TypeError, KeyError, fastavro.schema.SchemaParseException) as exc:
            raise ConversionError(f"schema {schema_id} is not an Avro schema: {exc}") from exc
        if raw.get("type") != "record" or not raw.get("fields"):
            raise ConversionError(f"schema {schema_id} is not a record schema")
        if raw["fields"][0].get("name") != HEADER:
            raise ConversionError(f"schema {schema_id}: field 0 is not {HEADER}")
        return cls(schema_id, tuple(_schema_field(f) for f in raw["fields"]), parsed)

    def decode(self, payload: bytes) -> dict[str, Any]:
        """The Avro binary payload as a dict (raises ConversionError)."""
        try:
            record = fastavro.schemaless_reader(io.BytesIO(payload), self.parsed, None)
        except Exception as exc:  # fastavro raises many kinds on bad bytes
            raise ConversionError(
                f"payload does not decode with schema {self.schema_id}: {exc}"
            ) from exc
        if not isinstance(record, dict):
            raise ConversionError(f"payload of schema {self.schema_id} is not a record")
        return record


def _non_null(avro_type: Any) -> Any:
    if isinstance(avro_type, list):
        rest = [t for t in avro_type if t != "null"]
        return rest[0] if len(rest) == 1 else rest
    return avro_type


def _schema_field(spec: dict[str, Any]) -> SchemaField:
    avro_type = _non_null(spec.get("type"))
    if isinstance(avro_type, dict) and avro_type.get("type") == "record":
        children = tuple(_schema_field(f) for f in avro_type.get("fields", []))
        return SchemaField(spec["name"], "value", children)
    doc = str(spec.get("doc") or "")
    logical = avro_type.get("logicalType") if isinstance(avro_type, dict) else None
    if doc.endswith(":DateTime") or logical in ("timestamp-millis", "timestamp-micros"):
        return SchemaField(spec["name"], "datetime")
    if doc.endswith(":Date") or logical == "date":
        return SchemaField(spec["name"], "date")
    return SchemaField(spec["name"], "value")


def _bits(hex_text: str, width: int) -> list[int]:
    if not hex_text.lower().startswith("0x"):
        raise ConversionError(f"bitmap {hex_text!r} is not 0x-prefixed hex")
    try:
        value = int(hex_text, 16)
    except ValueError as exc:
        raise ConversionError(f"bitmap {hex_text!r} is not hex") from exc
    if value >> width:
        raise ConversionError(f"bitmap {hex_text!r} names a field beyond the schema's {width}")
    return [i for i in range(width) if value >> i & 1]


def decode_bitmap(bitmaps: list[str], schema: ChangeSchema) -> list[str]:
    """Field names a bitmap list stands for, in schema order; compound parts as Parent.Child.

    Element 0 is the top-level bitmap (bit i = field i); ``"<pos>-0x<hex>"`` elements cover
    the children of the compound field at ``pos`` and replace its own name.
    """
    if not bitmaps:
        return []
    fields = schema.fields
    top = _bits(bitmaps[0], len(fields))
    nested: dict[int, list[str]] = {}
    for entry in bitmaps[1:]:
        pos_text, sep, hex_text = entry.partition("-")
        if not sep or not pos_text.isdigit() or int(pos_text) >= len(fields):
            raise ConversionError(f"bitmap entry {entry!r} names no field position")
        parent = fields[int(pos_text)]
        if not parent.children:
            raise ConversionError(f"bitmap entry {entry!r}: {parent.name} is not compound")
        nested[int(pos_text)] = [
            f"{parent.name}.{parent.children[i].name}"
            for i in _bits(hex_text, len(parent.children))
        ]
    names: list[str] = []
    for pos in sorted(set(top) | set(nested)):
        names.extend(nested.get(pos) or [fields[pos].name])
    return names


def iso_z(ms: int) -> str:
    """Epoch milliseconds -> ``2024-05-01T10:30:00.000Z``, the CometD datetime spelling."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _json_value(f: SchemaField, value: Any) -> Any:
    if value is None:
        return None
    if f.kind == "datetime":
        if isinstance(value, datetime):
            return iso_z(int(value.astimezone(UTC).timestamp() * 1000))
        if isinstance(value, int):
            return iso_z(value)
    if f.kind == "date":
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, int):
            return (date(1970, 1, 1) + timedelta(days=value)).isoformat()
    if isinstance(value, bytes):
        raise ConversionError(f"{f.name}: bytes have no CometD form")
    return value


def _whole(schema: ChangeSchema, record: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for f in schema.fields[1:]:
        value = record.get(f.name)
        if value is None:
            continue
        if f.children:
            parts = {c.name: _json_value(c, value.get(c.name)) for c in f.children}
            parts = {k: v for k, v in parts.items() if v is not None}
            if parts:
                body[f.name] = parts
        else:
            body[f.name] = _json_value(f, value)
    return body


def _changed(schema: ChangeSchema, record: dict[str, Any], names: list[str]) -> dict[str, Any]:
    by_name = {f.name: f for f in schema.fields}
    body: dict[str, Any] = {}
    for name in names:
        parent, _, child = name.partition(".")
        f = by_name[parent]
        value = record.get(parent)
        if child:
            spec = next(c for c in f.children if c.name == child)
            inner = value.get(child) if isinstance(value, dict) else None
            body.setdefault(parent, {})[child] = _json_value(spec, inner)
        elif f.children:
            parts = value if isinstance(value, dict) else {}
            body[parent] = {c.name: _json_value(c, parts.get(c.name)) for c in f.children}
        else:
            body[parent] = _json_value(f, value)
    return body


@dataclass(frozen=True)
class CometdEvent:
    """One converted event: its identity, commit time and the CometD JSON body."""

    event_id: str  # transactionKey:sequenceNumber, the same on every re-publish
    entity: str
    change_type: str
    record_ids: list[str]
    commit_ms: int
    body: dict[str, Any]


def to_cometd(schema: ChangeSchema, payload: bytes, replay_id: bytes) -> CometdEvent:
    """Decode one Pub/Sub event and build its CometD JSON (raises ConversionError)."""
    record = schema.decode(payload)
    raw_header = record.get(HEADER)
    if not isinstance(raw_header, dict):
        raise ConversionError(f"schema {schema.schema_id}: no {HEADER} in the payload")
    try:
        change_type = str(raw_header["changeType"])
        entity = str(raw_header["entityName"])
        txn, seq = raw_header["transactionKey"], raw_header["sequenceNumber"]
        commit_ms = int(raw_header["commitTimestamp"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConversionError(f"{HEADER} lacks {exc}") from exc
    header = dict(raw_header)
    for key in BITMAP_FIELDS:
        header[key] = decode_bitmap(list(raw_header.get(key) or []), schema)
    if change_type in _WHOLE_RECORD:
        body = _whole(schema, record)
    elif change_type in _CHANGED_ONLY:
        body = _changed(schema, record, header["changedFields"])
    else:  # DELETE, GAP_* and GAP_OVERFLOW: the header only
        body = {}
    return CometdEvent(
        event_id=f"{txn}:{seq}",
        entity=entity,
        change_type=change_type,
        record_ids=list(raw_header.get("recordIds") or []),
        commit_ms=commit_ms,
        body={
            "schema": schema.schema_id,
            "payload": {HEADER: header, **body},
            # CometD's replayId is a number; a Pub/Sub replay id is opaque bytes: hex here.
            "event": {"replayId": replay_id.hex()},
        },
    )
