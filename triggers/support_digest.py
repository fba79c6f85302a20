"""The hourly support digest: when something waits for a person (crosswalk/support/health.py),
the support chat hears it once, with links into the console, and again only when it changes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

from crosswalk.allowance import ApiBudget
from crosswalk.clients.durable_gateway import DurableGateway
from crosswalk.errors import IntegrationError
from crosswalk.notifications import digest_body
from crosswalk.services import services
from crosswalk.support.health import summary
from triggers import bp
from triggers.support_http import sources

log = logging.getLogger("crosswalk.notify")
SCHEDULE = "0 7 * * * *"  # hourly, seven minutes past: clear of on-the-hour schedules
DIGEST = df.EntityId("support_digest", "chat")


async def health_now(client: df.DurableOrchestrationClient, *, salesforce: bool = True) -> dict:
    """The health summary with this deployment's thresholds. The API allowance is the
    allowance governor's view (a Salesforce call only while this process has none);
    `salesforce=False` leaves it out."""
    svc = services()
    settings = svc.settings
    stale_hours = settings.reconcile.stuck_after_hours
    budget = None
    try:
        if salesforce:
            reading = await asyncio.to_thread(svc.salesforce.allowance)
            budget = ApiBudget(max=reading.max, remaining=reading.remaining)
    except IntegrationError as exc:  # the rest of the picture is still worth having
        log.warning("health: Salesforce limits unavailable: %s", exc)
    async with DurableGateway(client) as gateway:
        return await summary(
            sources(gateway),
            stale_before=datetime.now(UTC) - timedelta(hours=stale_hours),
            sla_hours=settings.support.approval_sla_hours,
            timeout_hours=settings.approval.timeout_hours,
            escalations=settings.approval.escalations,
            budget=budget,
            reserve_percent=settings.support.salesforce_reserve_percent,
        )


@bp.timer_trigger(schedule=SCHEDULE, arg_name="timer")
@bp.durable_client_input(client_name="client")
async def support_digest_timer(
    timer: func.TimerRequest, client: df.DurableOrchestrationClient
) -> None:
    # The digest never spends Salesforce API calls: the allowance shows on the front page.
    health = await health_now(client, salesforce=False)
    last = await client.read_entity_state(DIGEST)
    state = last.entity_state if last.entity_exists else None
    if isinstance(state, str):
        state = json.loads(state)
    if (state or {}).get("fingerprint") == health["fingerprint"]:
        return  # nothing new since the last digest
    if health["attention"]:
        chat = services().chat
        log.warning("support digest %s", json.dumps(health["attention"], sort_keys=True))
        try:
            await asyncio.to_thread(chat.post, digest_body(health["attention"], chat.console_url))
        except IntegrationError as exc:  # not remembered as sent: the next hour tries again
            log.error("support digest not delivered: %s", exc)
            return
    await client.signal_entity(
        DIGEST, "sent", {"fingerprint": health["fingerprint"], "at": health["at"]}
    )
