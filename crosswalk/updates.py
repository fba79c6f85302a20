"""The contracts of flows 2 and 3: who starts `account_update` / `d2c_signup_linking`, and how.

Starters (the change-event receivers, reconciliation, support) build the input here: the
change to look at, plus the policy snapshotted from the settings so a running instance keeps
the rules it started with and replays deterministically. Instance ids are derived from the
change, so a duplicate delivery of one event is one instance.

Echoes: Crosswalk's own writes come back as events. Salesforce tags them with the
`Sforce-Call-Options` client name in `changeOrigin` (or, without a tag, they carry the
integration user as `commitUser`); D2C names the API client whose token made the change in
`origin`. Those events end at the receiver: the record's entity notes "echo of our own
change", and nothing else is called.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from crosswalk.field_mapping import EVENT_SOURCES, touched_fields
from crosswalk.ids import SalesforceAccountId, SalesforceContactId
from crosswalk.models import compact_utc
from crosswalk.salesforce_ids import to_18
from crosswalk.settings import SalesforceSettings, Settings
from crosswalk.sync_changes import ChangeRequest

D2C_CLIENT = "crosswalk"
"""The D2C API client Crosswalk's token belongs to: the `origin` of the changes it makes."""

ECHO_NOTE = "echo of our own change"


class UpdateInput(BaseModel):
    """Input of `account_update`: one Account, the change to look at, the policy."""

    model_config = ConfigDict(extra="forbid")

    account_id: SalesforceAccountId
    request: ChangeRequest
    policy: dict[str, Any]
    account: dict[str, Any] | None = None
    """The Account as the starter already read it (reconciliation pages); skips the read."""
    waiting_since: AwareDatetime | None = None
    """Set by the instance itself while it waits for a running onboarding (continue_as_new)."""


class SignupInput(BaseModel):
    """Input of `d2c_signup_linking`: a D2C customer event and the policy."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["registered", "updated"]
    customer: dict[str, Any]
    user: dict[str, Any] | None = None
    changed_fields: list[str] = []
    policy: dict[str, Any]


CONTACT_PREFIX = "contact-"


class ContactChangeInput(BaseModel):
    """What the trigger read from the event: ids only, and the retry policy."""

    model_config = ConfigDict(extra="forbid")

    contact_ids: list[SalesforceContactId]
    change_type: str
    account_id: SalesforceAccountId | None = None
    moved: bool = False
    policy: dict[str, Any] = {}

    def gone_from(self, account_id: str) -> list[str]:
        """The Contacts that left `account_id`: deleted ones, or moved to another Account."""
        if self.change_type in ("DELETE", "GAP_DELETE"):
            return list(self.contact_ids)
        if self.moved and self.account_id != account_id:
            return list(self.contact_ids)
        return []


def update_instance_id(
    account_id: str,
    request: ChangeRequest,
    tag: str | None = None,
    *,
    change_key: str | None = None,
) -> str:
    """Per account and change: a Salesforce modstamp, a D2C version, or the starter's tag.

    `change_key` (the change event's transaction key) tells apart two commits that share a
    millisecond; a redelivery of the same event carries the same key.
    """
    if tag is not None:
        return f"update-{account_id}-{tag}"
    if request.customer is not None:
        return f"update-{account_id}-d2c-v{request.version}"
    if request.modstamp is not None:
        suffix = "-deleted" if request.deleted else ""
        if change_key:
            suffix += "-" + hashlib.sha256(change_key.encode()).hexdigest()[:10]
        return f"update-{account_id}-sf-{compact_utc(request.modstamp)}{suffix}"
    raise ValueError("a change without a modstamp or a customer needs a tag")


def signup_instance_id(customer_id: str, kind: str, version: int) -> str:
    return f"signup-{customer_id}-{kind}-v{version}"


def sync_policy(settings: Settings) -> dict[str, Any]:
    return {
        "ownership": settings.ownership.model_dump(mode="json"),
        "sync": settings.sync.model_dump(mode="json"),
        "onboarding": settings.onboarding.model_dump(mode="json"),
        "retry": settings.retry.model_dump(mode="json"),
    }


def update_input(
    settings: Settings,
    account_id: str,
    request: ChangeRequest,
    *,
    account: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return UpdateInput(
        account_id=account_id, request=request, policy=sync_policy(settings), account=account
    ).model_dump(mode="json", exclude_none=True)


# ---------------------------------------------------------------- routing change events


def own_salesforce_change(
    change_origin: str | None,
    commit_user: str | None,
    *,
    client_name: str,
    integration_user_id: str | None,
) -> bool:
    """Did Crosswalk make this Salesforce change? By the client tag, else the commit user."""
    parts = [part.strip() for part in (change_origin or "").split(";")]
    clients = [part.removeprefix("client=") for part in parts if part.startswith("client=")]
    if clients:
        return client_name in clients
    if integration_user_id and commit_user:
        try:
            return to_18(commit_user) == to_18(integration_user_id)
        except ValueError:
            return False
    return False


def own_change_event(header: Any, salesforce: SalesforceSettings) -> bool:
    """`own_salesforce_change` for a change event's header, by this app's Salesforce settings."""
    return own_salesforce_change(
        header.changeOrigin,
        header.commitUser,
        client_name=salesforce.client_name,
        integration_user_id=salesforce.integration_user_id,
    )


def account_change(
    change_type: str,
    changed_fields: list[str],
    modstamp: datetime,
    payload: dict[str, Any] | None = None,
) -> ChangeRequest | None:
    """The update an Account change event asks for, or None when no mapped field changed.

    A GAP_UPDATE (Salesforce could not say what changed) re-reads both sides; creates and
    undeletes, gap or not, are onboarding's (triggers/salesforce_events.py).

    The new values of simple fields ride along (`values`), so a run can see that they already
    equal the agreed ones without reading the Account.
    """
    if change_type in ("DELETE", "GAP_DELETE"):
        return ChangeRequest(origin="salesforce", modstamp=modstamp, deleted=True)
    if change_type == "GAP_UPDATE":
        # A gap event says the record changed but not how: read both sides, compare all.
        return ChangeRequest(origin="salesforce", modstamp=modstamp, full=True)
    if change_type == "UPDATE" and touched_fields(changed_fields):
        carried = payload or {}
        values = {
            name: carried[name]
            for name in EVENT_SOURCES
            if name in changed_fields and name in carried
        }
        return ChangeRequest(
            origin="salesforce", modstamp=modstamp, changed_fields=changed_fields, values=values
        )
    return None
