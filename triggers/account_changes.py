"""Salesforce Account change events after onboarding -> `account_update`, or an echo note.

Called by the Salesforce change-event receiver for every Account event. Crosswalk's own
writes (tagged `client=<SALESFORCE_CLIENT_NAME>`, or by the integration user) end here as a
note on the record's entity: "echo of our own change", no workflow, no call. Other UPDATEs of
a mapped field and DELETEs of a record Crosswalk knows start `account_update`, one instance
per change (a duplicate delivery finds it started).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df

from crosswalk.clients.durable import entity_state, start_once
from crosswalk.ids import SalesforceAccountId
from crosswalk.settings import Settings
from crosswalk.sync_status import SyncStatus
from crosswalk.updates import (
    ECHO_NOTE,
    account_change,
    own_change_event,
    update_input,
    update_instance_id,
)

log = logging.getLogger("crosswalk.events")

_KNOWN = frozenset({SyncStatus.SYNCED, SyncStatus.ONBOARDING, SyncStatus.AWAITING_APPROVAL})
"""Records an update can concern: synced, or synced as soon as the running onboarding ends."""


async def route_account_change(
    client: df.DurableOrchestrationClient,
    settings: Settings,
    *,
    event_id: str,
    header: Any,
    payload: dict[str, Any],
    account_ids: list[SalesforceAccountId],
    modstamp: datetime,
) -> None:
    if header.entityName != "Account":
        return
    own = own_change_event(header, settings.salesforce)
    request = account_change(header.changeType, header.changedFields, modstamp, payload)
    key = f"{header.transactionKey}:{header.sequenceNumber}" if header.transactionKey else None
    for account_id in account_ids:
        entity = df.EntityId("record_sync", account_id)
        if own:
            await client.signal_entity(
                entity,
                "note_change",
                {
                    "at": datetime.now(UTC).isoformat(),
                    "origin": "salesforce",
                    "outcome": "echo",
                    "note": f"{ECHO_NOTE} ({header.changeType} {', '.join(header.changedFields)})",
                    "modstamp": modstamp.isoformat(),
                    "event": key,
                },
            )
            continue
        if request is None:
            continue
        if not await _known(client, entity):
            log.info("event %s: %s is not a synced account; no update", event_id, account_id)
            continue
        instance_id = update_instance_id(account_id, request, change_key=key)
        existing = await start_once(
            client, "account_update", instance_id, update_input(settings, account_id, request)
        )
        if existing is not None:
            log.info("event %s: %s already %s as %s", event_id, account_id, existing, instance_id)
            continue
        log.info("event %s started %s", event_id, instance_id)


async def _known(client: df.DurableOrchestrationClient, entity: df.EntityId) -> bool:
    """Is this a record Crosswalk synced (or is syncing)? One read of its entity."""
    state = await entity_state(client, entity)
    status = (state or {}).get("status") if isinstance(state, dict) else None
    return status in _KNOWN
