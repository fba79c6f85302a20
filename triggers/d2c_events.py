"""D2C customer events (CloudEvents via Event Grid) -> sign-up linking and account updates.

- `customer.registered` starts `d2c_signup_linking` (instance per customer and version, so a
  duplicate delivery finds it started; the customer's `signup_link` entity stops the rest).
- `customer.updated` made by Crosswalk itself (`origin` = its API client) is an echo: the
  record's entity notes it and nothing else runs.
- `customer.updated` from the storefront: for an onboarded organisation (`external_ref` is its
  Account id) `account_update` with the customer as the event carried it; for a sign-up,
  `d2c_signup_linking` to carry the edit to its Contact or Lead. Edits of fields nothing maps
  (users, status) are acknowledged and ignored.
- `person.erasure_requested` starts `person_erasure` (triggers/erasure.py).

A malformed event is dead-lettered to the lake with the reason and never fails the function;
every other event is queued, as received, for the lake's raw zone (triggers/raw_zone.py).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ValidationError

from crosswalk.clients.durable import start_once
from crosswalk.d2c_models import CustomerEventData
from crosswalk.ids import SalesforceAccountId
from crosswalk.ownership import SYNCED_FIELDS
from crosswalk.services import services
from crosswalk.settings import Settings
from crosswalk.sync_changes import ChangeRequest
from crosswalk.telemetry import metric
from crosswalk.updates import (
    D2C_CLIENT,
    ECHO_NOTE,
    SignupInput,
    signup_instance_id,
    sync_policy,
    update_input,
    update_instance_id,
)
from triggers import bp
from triggers.dead_letters import dead_letter
from triggers.erasure import from_d2c_event
from triggers.raw_zone import cloud_event_time, land_raw

log = logging.getLogger("crosswalk.events")

TYPES = frozenset({"customer.registered", "customer.updated"})
ERASURE_EVENT = "person.erasure_requested"
SIGNUP_FIELDS = frozenset({"name", "phone", "marketing_consent"})
"""Customer fields a sign-up's Contact or Lead follows (crosswalk.signup_mapping.signup_updates)."""


class _Account(BaseModel):
    id: SalesforceAccountId


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def d2c_events(event: func.CloudEvent, client: df.DurableOrchestrationClient) -> None:
    settings = services().settings
    kind = getattr(event, "type", None) or getattr(event, "event_type", None)
    metric.event_received("d2c", str(kind))
    if kind == ERASURE_EVENT:  # never landed nor dead-lettered: it names who is to be forgotten
        await from_d2c_event(client, event)
        return
    try:
        if kind not in TYPES:
            log.info("event %s ignored: type %s", event.id, kind)
            _land(event, str(kind or "unknown"))
            return
        # strict, from JSON text: `marketing_consent: "yes"` or a version in quotes is refused
        data = CustomerEventData.model_validate_json(json.dumps(event.get_json()), strict=True)
        if kind == "customer.registered" and data.user is None:
            raise ValueError("customer.registered carries no user")
        ref = data.customer.external_ref
        account_id = _Account(id=ref).id if ref is not None else None
    except (ValidationError, ValueError, TypeError) as exc:
        await dead_letter(event, f"{type(exc).__name__}: {exc}", source="d2c")
        return
    _land(event, kind)
    if data.origin == D2C_CLIENT:
        await _echo(client, data, account_id)
    elif kind == "customer.registered":
        await _start_signup(client, settings, event.id, "registered", data)
    elif account_id is not None:
        await _start_update(client, settings, event.id, account_id, data)
    elif SIGNUP_FIELDS & set(data.changed_fields):
        await _start_signup(client, settings, event.id, "updated", data)
    else:
        log.info("event %s: no mapped field changed (%s)", event.id, data.changed_fields)


def _land(event: func.CloudEvent, kind: str) -> None:
    """Queue the event for the raw zone under its entity (`customer.updated` -> customer)."""
    entity = kind.split(".", 1)[0] if "." in kind else "other"
    land_raw(event, system="d2c", entity=entity, kind=kind, moment=cloud_event_time(event))


async def _echo(
    client: df.DurableOrchestrationClient, data: CustomerEventData, account_id: str | None
) -> None:
    entity = (
        df.EntityId("record_sync", account_id)
        if account_id is not None
        else df.EntityId("signup_link", data.customer.id)
    )
    await client.signal_entity(
        entity,
        "note_change",
        {
            "at": datetime.now(UTC).isoformat(),
            "origin": "d2c",
            "outcome": "echo",
            "note": f"{ECHO_NOTE} ({', '.join(data.changed_fields) or 'registered'})",
            "version": data.customer.version,
        },
    )


async def _start_update(
    client: df.DurableOrchestrationClient,
    settings: Settings,
    event_id: str,
    account_id: str,
    data: CustomerEventData,
) -> None:
    if not set(SYNCED_FIELDS) & set(data.changed_fields):
        log.info("event %s: no mapped field of %s changed", event_id, account_id)
        return
    request = ChangeRequest(origin="d2c", customer=data.customer.model_dump(mode="json"))
    instance_id = update_instance_id(account_id, request)
    await _start(
        client, "account_update", instance_id, update_input(settings, account_id, request), event_id
    )


async def _start_signup(
    client: df.DurableOrchestrationClient,
    settings: Settings,
    event_id: str,
    kind: str,
    data: CustomerEventData,
) -> None:
    signup = SignupInput(
        kind=kind,  # type: ignore[arg-type]
        customer=data.customer.model_dump(mode="json"),
        user=data.user.model_dump(mode="json") if data.user else None,
        changed_fields=data.changed_fields,
        policy=sync_policy(settings),
    )
    instance_id = signup_instance_id(data.customer.id, kind, data.customer.version)
    await _start(
        client, "d2c_signup_linking", instance_id, signup.model_dump(mode="json"), event_id
    )


async def _start(
    client: df.DurableOrchestrationClient,
    orchestrator: str,
    instance_id: str,
    client_input: Any,
    event_id: str,
) -> None:
    existing = await start_once(client, orchestrator, instance_id, client_input)
    if existing is not None:
        log.info("event %s: already %s as %s", event_id, existing, instance_id)
    else:
        log.info("event %s started %s", event_id, instance_id)
