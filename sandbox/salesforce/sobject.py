"""What an sObject and its fields are (:class:`SObjectType`, :class:`Field`) and their
describe output; the objects themselves are in ``schema``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT_TYPES = {"string", "textarea", "picklist", "email", "phone", "url"}
NUMBER_TYPES = {"double", "currency", "int", "percent"}
ID_TYPES = {"id", "reference"}


@dataclass(frozen=True)
class Field:
    """One field; flags mirror the describe attributes the stand-in enforces."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    required: bool = False
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    default: Any = None
    picklist: tuple[str, ...] = ()
    reference_to: str | None = None
    relationship_name: str | None = None
    precision: int = 0
    scale: int = 0
    custom: bool = False
    calculated: bool = False  # Name on Contact/Lead: derived, never written
    compound_of: tuple[str, ...] = ()  # BillingAddress etc.: read-only view of components

    @property
    def nillable(self) -> bool:
        return not self.required and self.type not in {"boolean", "id"}

    def describe(self) -> dict[str, Any]:
        soap = {
            "id": "tns:ID",
            "reference": "tns:ID",
            "boolean": "xsd:boolean",
            "double": "xsd:double",
            "currency": "xsd:double",
            "percent": "xsd:double",
            "int": "xsd:int",
            "datetime": "xsd:dateTime",
            "date": "xsd:date",
            "address": "urn:address",
        }.get(self.type, "xsd:string")
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "soapType": soap,
            "length": self.length,
            "byteLength": self.length * 3,
            "precision": self.precision,
            "scale": self.scale,
            "digits": 9 if self.type == "int" else 0,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.default is not None or self.type == "boolean",
            "defaultValue": self.default,
            "externalId": self.external_id,
            "unique": self.unique,
            "caseSensitive": False,
            "idLookup": self.type == "id" or self.external_id,
            "custom": self.custom,
            "calculated": self.calculated or bool(self.compound_of),
            "autoNumber": False,
            "filterable": self.type != "address",
            "sortable": self.type not in {"address", "textarea"},
            "groupable": self.type not in {"address", "textarea", "double", "currency"},
            "restrictedPicklist": False,
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": v == self.default,
                    "label": v,
                    "validFor": None,
                    "value": v,
                }
                for v in self.picklist
            ],
            "referenceTo": [self.reference_to] if self.reference_to else [],
            "relationshipName": self.relationship_name,
            "compoundFieldName": None,
        }


@dataclass
class SObjectType:
    """An object's fields in describe order, plus lower-case lookups (SOQL is case-blind)."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, Field]
    createable: bool = True
    emits_change_events: bool = False
    child_relationships: dict[str, tuple[str, str]] = field(default_factory=dict)
    lower: dict[str, Field] = field(init=False)
    parents: dict[str, Field] = field(init=False)
    unique_fields: tuple[str, ...] = field(init=False)
    external_ids: dict[str, Field] = field(init=False)

    def __post_init__(self) -> None:
        self.lower = {k.lower(): f for k, f in self.fields.items()}
        self.parents = {
            f.relationship_name.lower(): f for f in self.fields.values() if f.relationship_name
        }
        self.unique_fields = tuple(f.name for f in self.fields.values() if f.unique)
        self.external_ids = {
            f.name.lower(): f for f in self.fields.values() if f.external_id or f.type == "id"
        }

    def describe(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            **self.summary(version),
            "fields": [f.describe() for f in self.fields.values()],
            "childRelationships": [
                {
                    "childSObject": child,
                    "field": fld,
                    "relationshipName": rel,
                    "cascadeDelete": child == "Contact",
                }
                for rel, (child, fld) in self.child_relationships.items()
            ],
            "recordTypeInfos": [],
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }

    def summary(self, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "custom": False,
            "queryable": True,
            "retrieveable": True,
            "searchable": True,
            "createable": self.createable,
            "updateable": self.createable,
            "deletable": self.createable,
            "undeletable": self.createable,
            "replicateable": True,
            "triggerable": True,
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }
