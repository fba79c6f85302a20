"""Notifications to people: approval escalations.

Logged as one structured line (Application Insights in Azure picks it up for alert rules);
a chat or e-mail channel is a later issue.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from activities import bp

log = logging.getLogger("crosswalk.notify")


@bp.activity_trigger(input_name="payload")
def notify_escalation(payload: dict[str, Any]) -> dict[str, Any]:
    log.warning("approval escalation %s", json.dumps(payload, sort_keys=True))
    return {"notified": True, "escalation": payload.get("escalation")}
