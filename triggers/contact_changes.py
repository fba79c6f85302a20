"""Salesforce Contact change events -> `contact_change`, which refreshes the people of the
profiles they concern (orchestrators/contact_change.py).

Called by the Salesforce change-event receiver for every Contact event. Crosswalk's own
writes (a sign-up's Contact, the D2C user id written back, an erasure's anonymising) end
here: the flow that made them wrote the profile itself. An UPDATE that touches no field a
person of the profile shows (name, e-mail, phones, opt-out, primary flag, D2C user id,
Account) ends here too. Every other change starts one instance per event: its id comes from
the first Contact, the commit time and the transaction, so a redelivery finds it started.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

import azure.durable_functions as df

from crosswalk.clients.durable import start_once
from crosswalk.models import compact_utc
from crosswalk.settings import Settings
from crosswalk.updates import CONTACT_PREFIX, ContactChangeInput, own_change_event

log = logging.getLogger("crosswalk.events")

PEOPLE_FIELDS = frozenset(
    {
        "AccountId",
        "Email",
        "FirstName",
        "LastName",
        "Name",
        "Phone",
        "MobilePhone",
        "HasOptedOutOfEmail",
        "Primary_Contact__c",
        "D2C_User_Id__c",
    }
)
"""Contact fields the profile's people carry (a compound's part, `Name.LastName`, counts)."""


def contact_input(header: Any, payload: dict[str, Any], settings: Settings) -> ContactChangeInput:
    """The orchestration's input from a Contact event; invalid ids raise (dead letter)."""
    return ContactChangeInput(
        contact_ids=header.recordIds,
        change_type=header.changeType,
        account_id=payload.get("AccountId"),
        moved="AccountId" in header.changedFields,
        policy={"retry": settings.retry.model_dump(mode="json")},
    )


def concerns_people(header: Any) -> bool:
    if header.changeType != "UPDATE":
        return True  # creates, deletes, undeletes and every gap event
    return any(name.split(".")[0] in PEOPLE_FIELDS for name in header.changedFields)


async def route_contact_change(
    client: df.DurableOrchestrationClient,
    settings: Settings,
    *,
    event_id: str,
    header: Any,
    change: ContactChangeInput,
    modstamp: datetime,
) -> str | None:
    """Start `contact_change` for this event unless it is an echo or touches no person."""
    own = own_change_event(header, settings.salesforce)
    if own or not concerns_people(header):
        why = "echo of our own change" if own else "no field of a person changed"
        log.info("event %s: Contact %s %s: %s", event_id, header.changeType, header.recordIds, why)
        return None
    key = f"{header.transactionKey}:{header.sequenceNumber}:{','.join(change.contact_ids)}"
    suffix = hashlib.sha256(key.encode()).hexdigest()[:10]
    instance_id = f"{CONTACT_PREFIX}{change.contact_ids[0]}-{compact_utc(modstamp)}-{suffix}"
    existing = await start_once(
        client, "contact_change", instance_id, change.model_dump(mode="json", exclude_none=True)
    )
    if existing is not None:
        log.info("event %s: already %s as %s", event_id, existing, instance_id)
        return None
    log.info("event %s started %s", event_id, instance_id)
    return instance_id
