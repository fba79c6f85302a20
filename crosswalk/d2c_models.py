"""The D2C platform's shapes (docs/d2c-api.yaml) and the CloudEvents it publishes, validated
at the edge: what Crosswalk sends refuses unknown fields, what D2C answers ignores them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from crosswalk.edge_models import EdgeModel
from crosswalk.ids import (
    D2CCustomerId,
    D2CUserId,
    Email,
    SalesforceAccountId,
    SalesforceContactId,
    SalesforceLeadId,
)


class D2CAddress(EdgeModel):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$")


class CreditTerms(EdgeModel):
    limit: float = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    payment_terms_days: int = Field(ge=0, le=180)


class SalesforceLink(EdgeModel):
    account_id: SalesforceAccountId | None = None
    contact_id: SalesforceContactId | None = None
    lead_id: SalesforceLeadId | None = None


class CustomerKind(StrEnum):
    BUSINESS = "business"
    CONSUMER = "consumer"


class CustomerCreate(EdgeModel):
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


class UserInvite(EdgeModel):
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
