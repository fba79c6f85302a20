"""The sObjects the stand-in knows (Account, Contact, Lead, User): fields, picklists, lookups.

Field API names and types are the app's contract with the org; change them only with the app.
"""

from __future__ import annotations

from typing import Any

from .sobject import Field, SObjectType


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


def _d2c_user_id() -> Field:
    """The custom field Crosswalk keeps a person's D2C user id in (Contact and Lead)."""
    return Field(
        "D2C_User_Id__c", "string", "D2C User Id", 64, external_id=True, unique=True, custom=True
    )


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
        _d2c_user_id(),
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
        _d2c_user_id(),
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
