"""Change event schemas shaped as Salesforce's (header first, unions with null, compound
fields as nested records), and payloads written with fastavro, for the conversion tests."""

from __future__ import annotations

import io
from typing import Any

import fastavro

HEADER_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "ChangeEventHeader",
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": {"type": "array", "items": "string"}},
        {
            "name": "changeType",
            "type": {
                "type": "enum",
                "name": "ChangeType",
                "symbols": [
                    "CREATE",
                    "UPDATE",
                    "DELETE",
                    "UNDELETE",
                    "GAP_CREATE",
                    "GAP_UPDATE",
                    "GAP_DELETE",
                    "GAP_UNDELETE",
                    "GAP_OVERFLOW",
                ],
            },
        },
        {"name": "changeOrigin", "type": "string"},
        {"name": "transactionKey", "type": "string"},
        {"name": "sequenceNumber", "type": "int"},
        {"name": "commitTimestamp", "type": "long"},
        {"name": "commitNumber", "type": "long"},
        {"name": "commitUser", "type": "string"},
        {"name": "nulledFields", "type": {"type": "array", "items": "string"}},
        {"name": "diffFields", "type": {"type": "array", "items": "string"}},
        {"name": "changedFields", "type": {"type": "array", "items": "string"}},
    ],
}


def address(name: str) -> dict[str, Any]:
    parts = ["Street", "City", "State", "PostalCode", "Country", "Latitude", "Longitude"]
    return {
        "name": name,
        "type": [
            "null",
            {
                "type": "record",
                "name": name,
                "fields": [{"name": p, "type": ["null", "string"], "default": None} for p in parts],
            },
        ],
        "default": None,
    }


def nullable(name: str, avro_type: str = "string", doc: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "type": ["null", avro_type], "default": None}
    if doc:
        spec["doc"] = doc
    return spec


def account_schema(extra: int = 0) -> dict[str, Any]:
    """[ChangeEventHeader, Name, Type, BillingAddress, LastModifiedDate, ...] plus ``extra``
    custom fields, so bit positions run past 64."""
    fields = [
        {"name": "ChangeEventHeader", "type": HEADER_SCHEMA},
        nullable("Name"),
        nullable("Type"),
        address("BillingAddress"),
        nullable("LastModifiedDate", "long", "Data:DateTime"),
        nullable("Phone"),
        nullable("AnnualRevenue", "double"),
        nullable("SLAExpirationDate__c", "int", "Data:Date"),
    ]
    fields += [nullable(f"Extra{i}__c") for i in range(extra)]
    return {
        "type": "record",
        "name": "AccountChangeEvent",
        "namespace": "com.sforce.eventbus",
        "fields": fields,
    }


def header(change_type: str, **over: Any) -> dict[str, Any]:
    base = {
        "entityName": "Account",
        "recordIds": ["001000000000001AAA"],
        "changeType": change_type,
        "changeOrigin": "com/salesforce/api/rest/59.0",
        "transactionKey": "0002b5e2-aaaa-bbbb-cccc-000000000001",
        "sequenceNumber": 1,
        "commitTimestamp": 1_714_559_400_123,
        "commitNumber": 74_487_681_551,
        "commitUser": "005000000000001AAA",
        "nulledFields": [],
        "diffFields": [],
        "changedFields": [],
    }
    return {**base, **over}


def encode(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()
