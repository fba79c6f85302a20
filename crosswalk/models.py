"""The shapes Crosswalk exchanges with the outside world, validated at the edge.

Salesforce records are modelled as the REST API returns them (PascalCase API names,
`attributes`, nulls, compound addresses, child subqueries); D2C shapes follow
docs/d2c-api.yaml; the rest is Crosswalk's own: the unified profile, approvals and the
reconciliation report. Unknown Salesforce fields are ignored (orgs add fields all the time);
unknown fields in Crosswalk's own inputs are rejected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from crosswalk.ids import (  # re-exported: callers import them from here
    D2CCustomerId,
    D2CUserId,
    Email,
    SalesforceAccountId,
    SalesforceContactId,
    SalesforceLeadId,
    SalesforceUserId,
)
from crosswalk.people import ProfileContact


class RequestBody(BaseModel):
    """A JSON request body: validated strictly from the JSON text (`model_validate_json(...,
    strict=True)`), so booleans are JSON booleans, numbers JSON numbers and instants ISO 8601
    strings with an offset; `0`, `"yes"` or a Unix time are refused, never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class RequestQuery(BaseModel):
    """A query string: every value is text, so numbers are `QueryInt`; nothing else coerces."""

    model_config = ConfigDict(strict=True, populate_by_name=True)


def _whole_number(value: Any) -> Any:
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit() and len(value) <= 9):
            raise ValueError("a whole number written in digits 0-9")
        return int(value)
    return value


QueryInt = Annotated[int, BeforeValidator(_whole_number)]
"""A number in a query string: ASCII digits only (no sign, spaces, `_`, decimals or
`1,2` from a repeated key)."""


class _Edge(BaseModel):
    """Our own inputs: unknown fields are a mistake worth reporting."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Salesforce(BaseModel):
    """Salesforce payloads: orgs carry fields we do not use, so extra fields are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# ---------------------------------------------------------------- Salesforce


class SObjectAttributes(_Salesforce):
    type: str
    url: str | None = None


class CompoundAddress(_Salesforce):
    """`BillingAddress` / `MailingAddress` as REST returns them: read-only, lowercase keys."""

    street: str | None = None
    city: str | None = None
    state: str | None = None
    postalCode: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    geocodeAccuracy: str | None = None


class SalesforceContact(_Salesforce):
    attributes: SObjectAttributes | None = None
    Id: SalesforceContactId
    IsDeleted: bool | None = None
    AccountId: SalesforceAccountId | None = None
    FirstName: str | None = None
    LastName: str
    Email: str | None = None
    Phone: str | None = None
    MobilePhone: str | None = None
    Title: str | None = None
    HasOptedOutOfEmail: bool | None = None
    Primary_Contact__c: bool | None = None
    D2C_User_Id__c: str | None = None
    CreatedDate: AwareDatetime | None = None
    LastModifiedDate: AwareDatetime | None = None


class QueryResult(_Salesforce):
    """A query or child-subquery result: `{totalSize, done, records, nextRecordsUrl?}`."""

    totalSize: int
    done: bool
    records: list[dict[str, Any]]
    nextRecordsUrl: str | None = None


class SalesforceAccount(_Salesforce):
    attributes: SObjectAttributes | None = None
    Id: SalesforceAccountId
    IsDeleted: bool = False
    Name: str
    Type: str | None = None
    Industry: str | None = None
    Phone: str | None = None
    Website: str | None = None
    AnnualRevenue: float | None = None
    NumberOfEmployees: int | None = None
    BillingStreet: str | None = None
    BillingCity: str | None = None
    BillingState: str | None = None
    BillingPostalCode: str | None = None
    BillingCountry: str | None = None
    BillingAddress: CompoundAddress | None = None
    Tax_Id__c: str | None = None
    Credit_Limit__c: float | None = None
    Payment_Terms_Days__c: float | None = None
    Marketing_Consent__c: bool | None = None
    D2C_Customer_Id__c: str | None = None
    D2C_Primary_User_Id__c: str | None = None
    OwnerId: SalesforceUserId | None = None
    CreatedDate: AwareDatetime | None = None
    LastModifiedDate: AwareDatetime | None = None
    SystemModstamp: AwareDatetime
    Contacts: list[SalesforceContact] = Field(default_factory=list)

    @field_validator("Contacts", mode="before")
    @classmethod
    def _child_subquery(cls, value: Any) -> Any:
        """`(SELECT ... FROM Contacts)` arrives as a query result, or null when empty; a
        result not read to its end (`done: false`) is refused rather than taken as all, and
        deleted Contacts (queryAll returns them under live Accounts too) are left out."""
        if value is None:
            return []
        if isinstance(value, dict) and "records" in value:
            if value.get("done") is False:
                raise ValueError("only the first part of the Contacts: page it to the end")
            value = value["records"]
        if isinstance(value, list):  # queryAll also brings Contacts in the recycle bin
            return [c for c in value if not (isinstance(c, dict) and c.get("IsDeleted"))]
        return value


# ---------------------------------------------------------------- D2C (docs/d2c-api.yaml)


class D2CAddress(_Edge):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$")


class CreditTerms(_Edge):
    limit: float = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    payment_terms_days: int = Field(ge=0, le=180)


class SalesforceLink(_Edge):
    account_id: SalesforceAccountId | None = None
    contact_id: SalesforceContactId | None = None
    lead_id: SalesforceLeadId | None = None


class CustomerKind(StrEnum):
    BUSINESS = "business"
    CONSUMER = "consumer"


class CustomerCreate(_Edge):
    kind: CustomerKind
    external_ref: str | None = Field(default=None, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    email_domain: str | None = Field(default=None, max_length=255)
    phone: str | None = Field(default=None, max_length=40)
    website: str | None = Field(default=None, max_length=255)
    tax_id: str | None = Field(default=None, max_length=32)
    industry: str | None = Field(default=None, max_length=80)
    billing_address: D2CAddress | None = None
    credit_terms: CreditTerms | None = None
    marketing_consent: bool = False
    salesforce: SalesforceLink | None = None


class Customer(CustomerCreate):
    """A customer as the API returns it: the create fields plus identity and version."""

    model_config = ConfigDict(extra="ignore")

    id: D2CCustomerId
    status: Literal["active", "deactivated"]
    deactivation_reason: str | None = None
    version: int = Field(ge=1)
    created_at: AwareDatetime
    updated_at: AwareDatetime

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


class UserInvite(_Edge):
    email: Email
    first_name: str | None = Field(default=None, max_length=80)
    last_name: str | None = Field(default=None, max_length=80)
    phone: str | None = Field(default=None, max_length=40)
    role: Literal["admin", "buyer"] = "buyer"
    external_ref: str | None = Field(default=None, max_length=64)


class D2CUser(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: D2CUserId
    customer_id: D2CCustomerId
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    role: Literal["admin", "buyer"]
    status: Literal["invited", "active", "removed"]
    external_ref: str | None = None
    created_at: AwareDatetime


class CustomerEventData(BaseModel):
    """`data` of `customer.registered` / `customer.updated`."""

    model_config = ConfigDict(extra="ignore")

    customer: Customer
    user: D2CUser | None = None
    changed_fields: list[str] = Field(default_factory=list)
    origin: str | None = None


class CloudEvent(BaseModel):
    """CloudEvents 1.0, structured JSON mode; `data` is validated by whoever consumes it."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str | None = None
    time: AwareDatetime | None = None
    datacontenttype: str | None = None
    data: Any = None


# ---------------------------------------------------------------- Crosswalk's own


class ApprovalVerdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class ApprovalReason(BaseModel):
    """Why a rule asks for a person: a stable code for machines, text for people."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str


class ApprovalRequest(BaseModel):
    instance_id: str
    sf_account_id: SalesforceAccountId
    account_name: str
    reasons: list[ApprovalReason]
    requested_at: AwareDatetime
    deadline: AwareDatetime
    escalation: int = Field(default=0, ge=0)


class ApprovalDecisionInput(_Edge):
    """The body of `POST /api/approvals/{instanceId}`."""

    decision: ApprovalVerdict
    approver: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)


class ApprovalDecision(ApprovalDecisionInput):
    decided_at: AwareDatetime


class ProfileStatus(StrEnum):
    ACTIVE = "active"
    FAILED = "failed"
    DEACTIVATED = "deactivated"
    DELETED_IN_SALESFORCE = "deleted_in_salesforce"


class UnifiedProfile(BaseModel):
    """One customer as Crosswalk knows it across both systems; keyed by the Account id."""

    model_config = ConfigDict(extra="ignore")

    sf_account_id: SalesforceAccountId
    name: str
    status: ProfileStatus = ProfileStatus.ACTIVE
    d2c_customer_id: D2CCustomerId | None = None
    d2c_primary_user_id: D2CUserId | None = None
    primary_email: str | None = None
    email_domain: str | None = None
    country: str | None = None
    last_modstamp: AwareDatetime | None = None
    approval: ApprovalDecision | None = None
    failure: dict[str, Any] | None = None
    updated_at: AwareDatetime | None = None
    people_read_at: AwareDatetime | None = Field(
        default=None,
        description="when the Salesforce read the people were last refreshed from began; an "
        "older read never overwrites a newer one",
    )
    contacts: list[ProfileContact] = Field(
        default_factory=list, description="every person of the account, with their consent"
    )
    etag: str | None = Field(
        default=None, description="store-assigned version, for optimistic concurrency"
    )
    changed_at: AwareDatetime | None = Field(
        default=None, description="store-assigned time of the last write (the change feed's)"
    )


class DriftClass(StrEnum):
    IN_SYNC = "in_sync"
    MISSING_IN_D2C = "missing_in_d2c"
    STALE_IN_D2C = "stale_in_d2c"
    D2C_ORPHAN = "d2c_orphan"
    FAILED_OR_STUCK = "failed_or_stuck"
    NOT_QUALIFIED = "not_qualified"
    IN_PROGRESS = "in_progress"


class DriftFinding(BaseModel):
    sf_account_id: SalesforceAccountId
    drift: DriftClass
    reason: str
    d2c_customer_id: str | None = None
    repaired_by: str | None = None
    repair_error: str | None = None


class ReconciliationReport(BaseModel):
    run_id: str
    dry_run: bool = False
    since: AwareDatetime | None = None
    watermark_to: AwareDatetime | None = None
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    pages: int = 0
    counts: dict[DriftClass, int] = Field(default_factory=dict)
    findings: list[DriftFinding] = Field(default_factory=list)
    repaired: int = 0
    failed: int = 0
    status: Literal["running", "completed", "skipped", "failed"] = "running"
    reason: str | None = None
    """Why a run was skipped (another run held the lease)."""
    instance_id: str | None = None
    page_failures: list[dict[str, Any]] = Field(default_factory=list)
    salesforce_writes: int = 0
    findings_omitted: int = 0
    """Findings past the report's limit (failures are kept first); every page's findings are
    in the lake under `reports/reconciliation/<run_id>/`."""


def utc_iso(moment: datetime) -> str:
    """RFC 3339 with milliseconds and `Z`, the way both APIs write instants."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def compact_utc(moment: datetime) -> str:
    """`20240502T080001000Z`: basic ISO 8601 in UTC with milliseconds (Salesforce's precision).

    No `:`, so it is safe in instance ids, file names and URLs, and it sorts in time order.
    """
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y%m%dT%H%M%S") + f"{utc.microsecond // 1000:03d}Z"
