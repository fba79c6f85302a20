"""Salesforce change events (CloudEvents from the relay, via Event Grid) -> onboarding starts.

Account CREATE or UNDELETE (a restore from the recycle bin), or an UPDATE that changes
`Type`, whose Type is one of the onboarding types, starts `account_onboarding` for each record
id. The instance id comes from the account and the change's LastModifiedDate, so duplicate
deliveries collapse into one instance and the record_sync entity refuses older ones. A
restored account Crosswalk had synced is onboarded again and gets back the organisation
Crosswalk deactivated on the delete. GAP_CREATE and GAP_UNDELETE carry no fields: their
onboarding reads the Account and checks the Type itself.

Every other Account event goes to the update routing (triggers/account_changes.py: echoes
of Crosswalk's own writes, updates of synced accounts, deletions, gap updates). A Contact
event refreshes the people of the profiles it concerns (triggers/contact_changes.py). An Account
overflow event (`GAP_OVERFLOW`: more than 100,000 changes in one transaction, no record ids)
starts a catch-up reconciliation run. Everything else is acknowledged and ignored. A
malformed event is logged and dead-lettered to the lake with the reason; it never fails the
function (which would only make Event Grid deliver it again). Every other event is also
queued, as received, for the lake's raw zone (triggers/raw_zone.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crosswalk.clients.durable import start_once
from crosswalk.ids import SalesforceAccountId
from crosswalk.onboarding import onboarding_input, onboarding_instance_id
from crosswalk.services import services
from crosswalk.telemetry import current_traceparent, metric
from triggers import bp
from triggers.account_changes import route_account_change
from triggers.contact_changes import contact_input, route_contact_change
from triggers.dead_letters import dead_letter
from triggers.raw_zone import land_raw
from triggers.reconciliation import start_unless_running

log = logging.getLogger("crosswalk.events")


OVERFLOW = "GAP_OVERFLOW"


class ChangeEventHeader(BaseModel):
    """Strict: `commitTimestamp` is a JSON number, ids and names are text; nothing coerced."""

    model_config = ConfigDict(extra="ignore", strict=True)

    entityName: str
    recordIds: list[str] = Field(default_factory=list)
    changeType: str
    changedFields: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _records_named(self) -> ChangeEventHeader:
        # only an overflow event (more than 100,000 changes in one transaction) names none
        if not self.recordIds and self.changeType != OVERFLOW:
            raise ValueError("recordIds: at least one record id is required")
        return self

    changeOrigin: str | None = None
    commitTimestamp: int
    commitUser: str | None = None
    transactionKey: str | None = None
    sequenceNumber: int | None = None


class ChangeEvent(BaseModel):
    """The CometD JSON form the relay forwards: `{schema, payload, event}`."""

    model_config = ConfigDict(extra="ignore")

    payload: dict[str, Any]

    @property
    def header(self) -> ChangeEventHeader:
        return ChangeEventHeader.model_validate(self.payload.get("ChangeEventHeader"))

    def modstamp(self) -> datetime:
        raw = self.payload.get("LastModifiedDate")
        if isinstance(raw, str):
            return datetime.fromisoformat(raw.replace("+0000", "+00:00"))
        return datetime.fromtimestamp(self.header.commitTimestamp / 1000, tz=UTC)


class _AccountIds(BaseModel):
    ids: list[SalesforceAccountId]


def onboarding_candidates(event: ChangeEvent, account_types: list[str]) -> list[str]:
    """The Account ids this event should onboard; empty when it is not an onboarding moment."""
    header = event.header
    if header.entityName != "Account":
        return []
    change = header.changeType
    if change in ("GAP_CREATE", "GAP_UNDELETE"):
        # no field values: the onboarding reads the Account and checks its Type itself
        return _AccountIds(ids=header.recordIds).ids
    moment = change in ("CREATE", "UNDELETE") or (
        change == "UPDATE" and "Type" in header.changedFields
    )
    if moment and event.payload.get("Type") in account_types:
        return _AccountIds(ids=header.recordIds).ids
    return []


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def salesforce_change_events(
    event: func.EventGridEvent, client: df.DurableOrchestrationClient
) -> None:
    svc = services()
    try:
        change = ChangeEvent.model_validate(event.get_json())
        account_ids = onboarding_candidates(change, svc.settings.onboarding.account_types)
        modstamp = change.modstamp()
        header = change.header
        record_ids = _AccountIds(ids=header.recordIds).ids if header.entityName == "Account" else []
        contacts = (
            contact_input(header, change.payload, svc.settings)
            if header.entityName == "Contact" and header.changeType != OVERFLOW
            else None
        )
    except (ValidationError, ValueError, TypeError) as exc:
        await dead_letter(event, f"{type(exc).__name__}: {exc}", source="salesforce")
        return
    metric.event_received("salesforce", f"{header.entityName} {header.changeType}")
    land_raw(
        event,
        system="salesforce",
        entity=header.entityName,
        kind=header.changeType,
        moment=datetime.fromtimestamp(header.commitTimestamp / 1000, tz=UTC),
    )
    if header.changeType == OVERFLOW:
        await _catch_up(client, event.id, header)
        return
    if contacts is not None:
        await route_contact_change(
            client,
            svc.settings,
            event_id=event.id,
            header=header,
            change=contacts,
            modstamp=modstamp,
        )
        return
    await route_account_change(
        client,
        svc.settings,
        event_id=event.id,
        header=header,
        payload=change.payload,
        account_ids=record_ids,
        modstamp=modstamp,
    )
    if not account_ids:
        log.info("event %s: no onboarding (%s %s)", event.id, header.entityName, header.changeType)
        return
    for account_id in account_ids:
        instance_id = onboarding_instance_id(account_id, modstamp)
        existing = await start_once(
            client,
            "account_onboarding",
            instance_id,
            onboarding_input(
                svc.settings, account_id, modstamp, "event", traceparent=current_traceparent()
            ),
        )
        if existing is not None:
            log.info("event %s: %s already %s as %s", event.id, account_id, existing, instance_id)
            continue
        log.info("event %s started %s", event.id, instance_id)


async def _catch_up(
    client: df.DurableOrchestrationClient, event_id: str, header: ChangeEventHeader
) -> None:
    """An overflow event: the changes beyond 100,000 in one transaction came without record
    ids. A reconciliation run now reads everything changed since its watermark; a run that is
    already going will see them, or the next one."""
    if header.entityName != "Account":
        log.info("event %s: overflow on %s; nothing Crosswalk syncs", event_id, header.entityName)
        return
    key = header.transactionKey or str(header.commitTimestamp)
    started = await start_unless_running(client, f"reconcile-overflow-{key}", "overflow")
    log.warning("event %s: Account overflow; catch-up run started: %s", event_id, started)
