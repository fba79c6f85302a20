"""What `make run`, the end-to-end tests and the benchmarks share: the app's settings for a
running sandbox, which seeded accounts go which way through onboarding, and a webhook sink
(events for tests to deliver in their own order; chat messages for `make run` to print)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crosswalk.rules import approval_reasons, qualifies_for_onboarding
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import ApprovalSettings, OnboardingSettings

APP_DIR = Path(__file__).resolve().parents[1]


def app_env(sb: Any, data: Path, **overrides: str) -> dict[str, str]:
    """App settings pointing at a running sandbox, with state kept under `data`."""
    env = {
        "SALESFORCE_LOGIN_URL": sb.salesforce_url,
        "SALESFORCE_CLIENT_ID": sb.salesforce_client_id,
        "SALESFORCE_CLIENT_SECRET": sb.salesforce_client_secret,
        "SALESFORCE_CA_BUNDLE": str(sb.ca_bundle),
        "D2C_BASE_URL": sb.d2c_url,
        "D2C_TOKEN": sb.d2c_token,
        "PROFILE_STORE_SQLITE_PATH": str(data / "profiles.sqlite3"),
        "LAKE_FOLDER": str(data / "lake"),
        # the profile API trusts the sandbox's Entra ID stand-in
        "PROFILE_API_AUTHORITY": sb.entra_url,
        "PROFILE_API_TENANT_ID": sb.entra.tenant_id,
        "PROFILE_API_AUDIENCE": sb.entra.api_app_id,
        "PROFILE_API_CA_BUNDLE": str(sb.ca_bundle),  # the stand-in serves TLS, as Entra does
        "SUPPORT_AUDIT_SQLITE_PATH": str(data / "audit.sqlite3"),
        # the timer binding reads %RECONCILE_SCHEDULE% from the app settings, as in Azure
        "RECONCILE_SCHEDULE": "0 0 2 * * *",
        # the relay's timer (%RELAY_SCHEDULE%): once a leap year unless the relay is on, so
        # time-skipping tests do not stop at every minute
        "RELAY_SCHEDULE": "0 0 0 29 2 *",
        "CURATED_REFRESH_SCHEDULE": "0 * * * * *",  # locally every minute
        "CURATED_COMPACT_SCHEDULE": "0 30 3 * * *",
        "ERASURE_KEY": local_erasure_key(data),
    }
    env.update(overrides)
    return env


def relay_env(sb: Any, **overrides: str) -> dict[str, str]:
    """The relay's settings for a running sandbox: its Pub/Sub API, its Salesforce Event Grid
    topic (the key; in Azure the app's identity), the sandbox CA for both."""
    env = {
        "RELAY_ENABLED": "true",
        "RELAY_SCHEDULE": "* * * * * *",  # a session ends: the next starts within a second
        "RELAY_PUBSUB_ENDPOINT": sb.pubsub_target,
        "RELAY_CA_BUNDLE": str(sb.ca_bundle),
        "RELAY_EVENT_GRID_ENDPOINT": sb.eventgrid.endpoint("salesforce"),
        "RELAY_EVENT_GRID_KEY": sb.eventgrid.topic("salesforce").key,
        "RELAY_EVENT_GRID_CA_BUNDLE": str(sb.ca_bundle),
    }
    env.update(overrides)
    return env


def d2c_topic_env(sb: Any, **overrides: str) -> dict[str, str]:
    """The D2C Event Grid topic for a running sandbox (the key; in Azure the app's identity):
    where a support replay publishes dead-lettered D2C events."""
    env = {
        "D2C_EVENT_GRID_ENDPOINT": sb.eventgrid.endpoint("d2c"),
        "D2C_EVENT_GRID_KEY": sb.eventgrid.topic("d2c").key,
        "D2C_EVENT_GRID_CA_BUNDLE": str(sb.ca_bundle),
    }
    env.update(overrides)
    return env


def local_erasure_key(data: Path) -> str:
    """A random erasure key kept beside the local state (so tombstones outlive a restart);
    in Azure it is a Key Vault reference."""
    import secrets

    path = data / "erasure.key"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def onboardable_accounts(sb: Any, *, needs_approval: bool | None = None) -> list[dict[str, Any]]:
    """Seeded Accounts that qualify and are not synced yet, by whether a person must approve.

    Uses the default rules, i.e. the ones the app runs with unless settings say otherwise.
    """
    approval = ApprovalSettings.model_validate({})
    onboarding = OnboardingSettings.model_validate({})
    found = []
    for record in sb.salesforce_records("Account"):
        account = SalesforceAccount.model_validate(record)
        if account.D2C_Customer_Id__c or not qualifies_for_onboarding(account, onboarding):
            continue
        if needs_approval is None or bool(approval_reasons(account, approval)) == needs_approval:
            found.append(record)
    return found


class WebhookSink:
    """A local HTTP endpoint that accepts JSON POSTs and keeps them (a batch is unpacked);
    `on_message` sees each one as it arrives. Use as a context manager: it stops on exit."""

    def __init__(self, on_message: Callable[[dict[str, Any]], None] | None = None) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parsed = json.loads(body)
                for message in parsed if isinstance(parsed, list) else [parsed]:
                    received.append(message)
                    if on_message is not None:
                        on_message(message)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
