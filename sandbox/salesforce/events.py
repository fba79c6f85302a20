"""Change Data Capture events (CometD JSON form) wrapped as CloudEvents 1.0.

One event per changed Account/Contact row, built when its transaction commits; gap events
(`GAP_*`) and overflow events (`GAP_OVERFLOW`, no record id) carry the header only. The body
follows the CometD rules: unchanged and null fields omitted, compound fields nested with
PascalCase keys, ISO ``...Z`` datetimes, never ``IsDeleted`` or ``SystemModstamp``.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from typing import Any

from ..clock import iso_z, sf_to_iso_z
from .schema import OBJECTS
from .sobject import SObjectType
from .store import Change, Record

_SKIP = {"Id", "IsDeleted", "SystemModstamp"}
_PERSON_NAME = {"Salutation": "Salutation", "FirstName": "FirstName", "LastName": "LastName"}
_ADDRESS_PARTS = {
    "Street": "Street",
    "City": "City",
    "State": "State",
    "PostalCode": "PostalCode",
    "Country": "Country",
}


def _compound_of(sobject: SObjectType) -> dict[str, tuple[str, str]]:
    """Component -> (compound, key in events): BillingCity -> (BillingAddress, City)."""
    out: dict[str, tuple[str, str]] = {}
    for f in sobject.fields.values():
        if f.compound_of:
            prefix = f.name[: -len("Address")]
            for part in f.compound_of:
                out[part] = (f.name, part[len(prefix) :])
    if sobject.name == "Contact":
        for part in _PERSON_NAME:
            out[part] = ("Name", part)
    return out


_COMPOUNDS = {name: _compound_of(t) for name, t in OBJECTS.items()}
_SCHEMAS = {
    name: hashlib.sha256(f"{name}ChangeEvent-v1".encode()).hexdigest()[:22] for name in OBJECTS
}


def _value(sobject: SObjectType, name: str, value: Any) -> Any:
    if sobject.fields[name].type == "datetime" and isinstance(value, str):
        return sf_to_iso_z(value)
    return value


def _body(sobject: SObjectType, rec: Record, names: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Event fields for ``names`` plus the changedFields spelling of each."""
    compounds = _COMPOUNDS[sobject.name]
    body: dict[str, Any] = {}
    spelled: list[str] = []
    for name in names:
        if name in _SKIP:
            continue
        field = sobject.fields.get(name)
        if field is None or field.compound_of or (field.calculated and sobject.name == "Contact"):
            continue
        value = rec.get(name)
        if name in compounds:
            compound, key = compounds[name]
            body.setdefault(compound, {})[key] = _value(sobject, name, value)
            spelled.append(f"{compound}.{key}")
        else:
            body[name] = _value(sobject, name, value)
            spelled.append(name)
    return body, spelled


class ChangeEventBuilder:
    """Numbers events (replayId, commitNumber) across the org's lifetime."""

    def __init__(self) -> None:
        self._replay = itertools.count(1)
        self._commit = itertools.count(74_487_681_550)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def build(
        self,
        changes: list[Change],
        *,
        commit_ms: int,
        commit_user: str,
        change_origin: str,
        api_version: str,
    ) -> list[dict[str, Any]]:
        emitting = [c for c in changes if OBJECTS[c.sobject].emits_change_events]
        if not emitting:
            return []
        txn_key = str(uuid.uuid4())
        commit_number = next(self._commit)
        out = []
        for seq, change in enumerate(emitting, start=1):
            sobject = OBJECTS[change.sobject]
            if change.change_type in {"CREATE", "UNDELETE"}:
                names = [n for n in sobject.fields if change.record.get(n) is not None]
                body, _ = _body(sobject, change.record, names)
                changed: list[str] = []
            elif change.change_type == "UPDATE":
                body, changed = _body(sobject, change.record, change.changed)
            else:  # DELETE, and gap and overflow events: the header only
                body, changed = {}, []
            header = {
                "entityName": change.sobject,
                "recordIds": [change.record_id] if change.record_id else [],  # none: overflow
                "changeType": change.change_type,
                "changedFields": changed,
                "changeOrigin": change_origin,
                "transactionKey": txn_key,
                "sequenceNumber": seq,
                "commitTimestamp": commit_ms,
                "commitNumber": commit_number,
                "commitUser": commit_user,
            }
            replay_id = next(self._replay)
            out.append(
                {
                    "specversion": "1.0",
                    "id": str(uuid.uuid4()),
                    "source": f"/services/data/v{api_version}/sobjects/{change.sobject}",
                    "type": f"com.salesforce.cdc.{change.sobject}ChangeEvent",
                    "subject": change.record_id,
                    "time": iso_z(commit_ms),
                    "datacontenttype": "application/json",
                    "data": {
                        "schema": _SCHEMAS[change.sobject],
                        "payload": {"ChangeEventHeader": header, **body},
                        "event": {"replayId": replay_id},
                    },
                }
            )
        return out
