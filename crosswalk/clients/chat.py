"""The one client for the people channel: a chat incoming webhook (Teams, Slack, ...).

The webhook URL is a secret (whoever has it can post), so it never appears in an error,
a log line or an exception: failures name only the status or the kind of network fault.
"""

from __future__ import annotations

from typing import Any

import requests

from crosswalk.clients.http import make_session
from crosswalk.errors import TransientError, error_for_status
from crosswalk.settings import NotifySettings

SYSTEM = "chat"


class ChatWebhook:
    def __init__(
        self, settings: NotifySettings, *, session: requests.Session | None = None
    ) -> None:
        self._url = settings.webhook_url.get_secret_value() if settings.webhook_url else None
        self._timeout = settings.timeout_seconds
        self._session = session or make_session(system=SYSTEM)
        self.console_url = str(settings.console_url) if settings.console_url else None

    @property
    def configured(self) -> bool:
        return self._url is not None

    def post(self, body: dict[str, Any]) -> None:
        """Deliver one message; raises a classified error (transient or permanent)."""
        if self._url is None:
            return
        try:
            response = self._session.post(self._url, json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            raise TransientError(f"chat webhook: {type(exc).__name__}", system=SYSTEM) from None
        if response.status_code >= 400:
            raise error_for_status(
                SYSTEM, response.status_code, f"chat webhook answered {response.status_code}"
            )

    def close(self) -> None:
        self._session.close()
