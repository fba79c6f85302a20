"""The sObjects the stand-in knows (Account, Contact, Lead, User) and their describe output.

Field API names and types are the app's contract with the org; change them only with the app.
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


def _system(owner: bool = True) -> list[Field]:
    out = [
        Field("CreatedDate", "datetime", "Created Date", createable=False, updateable=False),
        Field(
            "CreatedById",
            "reference",
            "Created By ID",
            18,
            createable=False,
            updateable=False,
            reference_to="User",
            relationship_name="CreatedBy",
        ),
        Field(
            "LastModifiedDate", "datetime", "Last Modified Date", createable=False, updateable=False
        ),
        Field(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            18,
            createable=False,
            updateable=False,
            reference_to="User",
            relationship_name="LastModifiedBy",
        ),
        Field("SystemModstamp", "datetime", "System Modstamp", createable=False, updateable=False),
    ]
    if owner:
        out.insert(
            0,
            Field(
                "OwnerId",
                "reference",
                "Owner ID",
                18,
                reference_to="User",
                relationship_name="Owner",
            ),
        )
    return out


def _address(prefix: str, label: str) -> list[Field]:
    parts = [
        Field(f"{prefix}Street", "textarea", f"{label} Street", 255),
        Field(f"{prefix}City", "string", f"{label} City", 40),
        Field(f"{prefix}State", "string", f"{label} State/Province", 80),
        Field(f"{prefix}PostalCode", "string", f"{label} Zip/Postal Code", 20),
        Field(f"{prefix}Country", "string", f"{label} Country", 80),
    ]
    # State and Country/Territory Picklists' code fields (rules.py: refused unless the org
    # has them switched on); not part of the compound view here
    codes = [
        Field(f"{prefix}StateCode", "picklist", f"{label} State Code", 10),
        Field(f"{prefix}CountryCode", "picklist", f"{label} Country Code", 10),
    ]
    compound = Field(
        f"{prefix}Address",
        "address",
        f"{label} Address",
        createable=False,
        updateable=False,
        compound_of=tuple(p.name for p in parts),
    )
    return [*parts, *codes, compound]


def _ident() -> list[Field]:
    return [
        Field("Id", "id", "Record ID", 18, createable=False, updateable=False),
        Field("IsDeleted", "boolean", "Deleted", createable=False, updateable=False, default=False),
    ]


def _build(name: str, fields: list[Field], **kw: Any) -> SObjectType:
    return SObjectType(name=name, fields={f.name: f for f in fields}, **kw)


ACCOUNT_TYPES = (
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
)
INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")

ACCOUNT = _build(
    "Account",
    [
        *_ident(),
        Field("Name", "string", "Account Name", 255, required=True),
        Field("Type", "picklist", "Account Type", 255, picklist=ACCOUNT_TYPES),
        Field("Industry", "picklist", "Industry", 255, picklist=INDUSTRIES),
        Field("AccountNumber", "string", "Account Number", 40),
        Field("Phone", "phone", "Account Phone", 40),
        Field("Website", "url", "Website", 255),
        Field("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        Field("NumberOfEmployees", "int", "Employees", precision=8),
        Field("Description", "textarea", "Account Description", 32000),
        *_address("Billing", "Billing"),
        *_address("Shipping", "Shipping"),
        *_system(),
        Field(
            "D2C_Customer_Id__c",
            "string",
            "D2C Customer Id",
            64,
            external_id=True,
            unique=True,
            custom=True,
        ),
        Field("D2C_Primary_User_Id__c", "string", "D2C Primary User Id", 64, custom=True),
        Field("Tax_Id__c", "string", "Tax Id", 32, custom=True),
        Field("Credit_Limit__c", "currency", "Credit Limit", precision=16, scale=2, custom=True),
        Field(
            "Payment_Terms_Days__c",
            "double",
            "Payment Terms (Days)",
            precision=3,
            scale=0,
            custom=True,
        ),
        Field("Marketing_Consent__c", "boolean", "Marketing Consent", default=False, custom=True),
        Field("Crosswalk_Sync_Status__c", "string", "Crosswalk Sync Status", 40, custom=True),
    ],
    label="Account",
    label_plural="Accounts",
    key_prefix="001",
    emits_change_events=True,
    child_relationships={"Contacts": ("Contact", "AccountId")},
)

CONTACT = _build(
    "Contact",
    [
        *_ident(),
        Field(
            "AccountId",
            "reference",
            "Account ID",
            18,
            reference_to="Account",
            relationship_name="Account",
        ),
        Field("Salutation", "picklist", "Salutation", 40, picklist=SALUTATIONS),
        Field("FirstName", "string", "First Name", 40),
        Field("LastName", "string", "Last Name", 80, required=True),
        Field(
            "Name", "string", "Full Name", 121, createable=False, updateable=False, calculated=True
        ),
        Field("Email", "email", "Email", 80),
        Field("Phone", "phone", "Business Phone", 40),
        Field("MobilePhone", "phone", "Mobile Phone", 40),
        Field("Title", "string", "Title", 128),
        Field("Department", "string", "Department", 80),
        Field("HasOptedOutOfEmail", "boolean", "Email Opt Out", default=False),
        *_address("Mailing", "Mailing"),
        *_system(),
        Field(
            "D2C_User_Id__c",
            "string",
            "D2C User Id",
            64,
            external_id=True,
            unique=True,
            custom=True,
        ),
        Field("Primary_Contact__c", "boolean", "Primary Contact", default=False, custom=True),
    ],
    label="Contact",
    label_plural="Contacts",
    key_prefix="003",
    emits_change_events=True,
)

LEAD = _build(
    "Lead",
    [
        *_ident(),
        Field("FirstName", "string", "First Name", 40),
        Field("LastName", "string", "Last Name", 80, required=True),
        Field(
            "Name", "string", "Full Name", 121, createable=False, updateable=False, calculated=True
        ),
        Field("Company", "string", "Company", 255, required=True),
        Field("Email", "email", "Email", 80),
        Field("Phone", "phone", "Phone", 40),
        Field("MobilePhone", "phone", "Mobile Phone", 40),  # Lead has both, as Contact does
        Field("HasOptedOutOfEmail", "boolean", "Email Opt Out", default=False),
        Field(
            "Status",
            "picklist",
            "Lead Status",
            255,
            picklist=LEAD_STATUSES,
            default="Open - Not Contacted",
        ),
        Field("LeadSource", "picklist", "Lead Source", 255, picklist=LEAD_SOURCES),
        Field(
            "IsConverted", "boolean", "Converted", createable=False, updateable=False, default=False
        ),
        Field("ConvertedDate", "date", "Converted Date", createable=False, updateable=False),
        Field(
            "ConvertedAccountId",
            "reference",
            "Converted Account ID",
            18,
            createable=False,
            updateable=False,
            reference_to="Account",
            relationship_name="ConvertedAccount",
        ),
        Field(
            "ConvertedContactId",
            "reference",
            "Converted Contact ID",
            18,
            createable=False,
            updateable=False,
            reference_to="Contact",
            relationship_name="ConvertedContact",
        ),
        *_system(),
        Field(
            "D2C_User_Id__c",
            "string",
            "D2C User Id",
            64,
            external_id=True,
            unique=True,
            custom=True,
        ),
        # External ID but not unique: several Leads may name one D2C customer
        Field("D2C_Customer_Id__c", "string", "D2C Customer Id", 64, external_id=True, custom=True),
    ],
    label="Lead",
    label_plural="Leads",
    key_prefix="00Q",
)

USER = _build(
    "User",
    [
        Field("Id", "id", "User ID", 18, createable=False, updateable=False),
        Field("Username", "string", "Username", 80, createable=False, updateable=False),
        Field("FirstName", "string", "First Name", 40, createable=False, updateable=False),
        Field("LastName", "string", "Last Name", 80, createable=False, updateable=False),
        Field("Name", "string", "Full Name", 121, createable=False, updateable=False),
        Field("Email", "email", "Email", 128, createable=False, updateable=False),
        Field("IsActive", "boolean", "Active", createable=False, updateable=False, default=True),
        *_system(owner=False),
    ],
    label="User",
    label_plural="Users",
    key_prefix="005",
    createable=False,
)

OBJECTS: dict[str, SObjectType] = {o.name: o for o in (ACCOUNT, CONTACT, LEAD, USER)}
OBJECTS_LOWER: dict[str, SObjectType] = {k.lower(): v for k, v in OBJECTS.items()}
BY_PREFIX: dict[str, SObjectType] = {o.key_prefix: o for o in OBJECTS.values()}


def lookup(name: str) -> SObjectType | None:
    return OBJECTS_LOWER.get(name.lower())
