"""Notifications to people: approvals waiting, overdue or timed out, undos that keep failing.

Each is one structured log line (Application Insights in Azure picks it up for alert rules)
and, when `NOTIFY_WEBHOOK_URL` is set, a chat message with a link to the support console.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from activities import bp
from crosswalk.notifications import Notification
from crosswalk.services import services

log = logging.getLogger("crosswalk.notify")


@bp.activity_trigger(input_name="payload")
def notify_people(payload: dict) -> dict[str, Any]:
    notification = Notification.from_payload(payload)
    log.warning(
        "%s %s",
        notification.kind,
        json.dumps(
            {"account_id": notification.account_id, "instance_id": notification.instance_id},
            sort_keys=True,
        ),
    )
    chat = services().chat
    chat.post(notification.chat_body(chat.console_url))
    return {"kind": str(notification.kind), "sent": chat.configured}
