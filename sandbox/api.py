"""The in-process API: ``with sandbox.run(seed=...) as sb:`` starts both stand-ins.

Each server runs on its own event loop in a background thread on a free port (unless a port
is given); events go out through one background outbox per service. ``Sandbox`` is also what
the control path (``/__sandbox/...``) and ``python -m sandbox`` drive.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import persist as persist_mod
from .clock import Clock
from .control import make_control_handler
from .d2c.app import D2CApp
from .d2c.store import D2CPlatform
from .d2c_helpers import D2CHelpers
from .entra.app import EntraApp
from .entra.directory import STOREFRONT_CLIENT_ID, STOREFRONT_CLIENT_SECRET, Directory
from .eventgrid.topics import EventGridTopics
from .events_faults import EventsAndFaults
from .faults import Faults
from .outbox import Outbox
from .pubsub.bus import EventBus
from .pubsub.server import PubSubFaults, PubSubServer, PubSubService
from .salesforce.app import SalesforceApp
from .salesforce.org import OrgConfig, SalesforceOrg
from .salesforce.schema import OBJECTS
from .salesforce_helpers import SalesforceHelpers
from .seed import seed_org
from .server import ServerThread
from .stats import Stats
from .tls import load_key_material

DEFAULT_DAILY_API_LIMIT = 100_000
SALESFORCE_CLIENT_ID = "crosswalk-dev-client"
SALESFORCE_CLIENT_SECRET = "crosswalk-dev-secret"
D2C_TOKEN = "d2c-dev-token"
D2C_STOREFRONT_TOKEN = "d2c-storefront-token"
JWT_USERNAME = "integration@crosswalk.sandbox"
ADMIN_USERNAME = "admin@crosswalk.sandbox"


class Sandbox(EventsAndFaults, SalesforceHelpers, D2CHelpers):
    """Both stand-ins, their shared clock and the helpers tests use to act and inspect.

    Built and started here; the helpers come from ``events_faults`` (events, stats, faults),
    ``salesforce_helpers`` (a person and an admin in the org) and ``d2c_helpers``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        events_to: str | None = None,
        salesforce_events_to: str | None = None,
        d2c_events_to: str | None = None,
        data_dir: str | Path | None = None,
        api_version: str = "59.0",
        daily_api_limit: int = DEFAULT_DAILY_API_LIMIT,
        host: str = "127.0.0.1",
        salesforce_port: int = 0,
        d2c_port: int = 0,
        entra_port: int = 0,
        duplicate_events: float = 0.0,
        reorder_events: bool = False,
        token_ttl: float = 7200.0,
        persist: bool = False,
        seed_contacts: int | None = None,
        pubsub_port: int = 0,
        pubsub_keepalive: float = 270.0,
        pubsub_idle_close: float = 70.0,
        eventgrid_port: int = 0,
        eventgrid_time_scale: float = 1.0,
    ) -> None:
        self.seed = seed
        self.seed_contacts = seed_contacts
        self.api_version = api_version
        self.host = host
        self._own_dir = data_dir is None
        self.data_dir = (
            Path(data_dir).resolve() if data_dir else Path(tempfile.mkdtemp(prefix="sandbox-"))
        )
        keys = load_key_material(self.data_dir)
        self.ca_bundle = str(keys.ca_bundle)
        self.jwt_private_key_path = str(keys.jwt_private_key_path)
        self.jwt_certificate_path = str(keys.jwt_certificate_path)
        self.jwt_username = JWT_USERNAME
        self.admin_username = ADMIN_USERNAME
        self.salesforce_client_id = SALESFORCE_CLIENT_ID
        self.salesforce_client_secret = SALESFORCE_CLIENT_SECRET
        self.d2c_token = D2C_TOKEN
        self.d2c_storefront_token = D2C_STOREFRONT_TOKEN
        self.clock = Clock()
        sf_target = salesforce_events_to or events_to
        d2c_target = d2c_events_to or events_to
        self._sf_outbox = Outbox(
            "salesforce",
            seed=seed,
            target=sf_target,
            duplicate=duplicate_events,
            reorder=reorder_events,
        )
        self._d2c_outbox = Outbox(
            "d2c", seed=seed, target=d2c_target, duplicate=duplicate_events, reorder=reorder_events
        )
        self.org = SalesforceOrg(
            OrgConfig(
                api_version=api_version,
                daily_api_limit=daily_api_limit,
                client_id=self.salesforce_client_id,
                client_secret=self.salesforce_client_secret,
                jwt_username=JWT_USERNAME,
                admin_username=ADMIN_USERNAME,
                token_ttl=token_ttl,
            ),
            self.clock,
            self._sf_outbox,
            keys.jwt_public_key,
        )
        self.d2c = D2CPlatform(self.clock, self._d2c_outbox, seed)
        self.bus = EventBus(self.clock)
        self.org.listeners.append(self.bus.publish)
        self._pubsub = PubSubService(
            self.org, self.bus, keepalive=pubsub_keepalive, idle_close=pubsub_idle_close
        )
        self._pubsub_server = PubSubServer(
            self._pubsub,
            host=host,
            port=pubsub_port,
            key_pem=keys.server_key_pem,
            cert_chain_pem=keys.server_cert_chain_pem,
        )
        self._sf_stats, self._d2c_stats = Stats(), Stats()
        self._sf_faults, self._d2c_faults = Faults("salesforce", seed), Faults("d2c", seed)
        self._persist = persist and not self._own_dir
        saved = persist_mod.load(self._state_path) if self._persist else None
        if saved is not None:
            self.seed = saved["seed"]
            self.org.restore(saved["salesforce"])
            self.d2c.restore(saved["d2c"])
            if "pubsub" in saved:  # files saved before the bus was kept have none
                self.bus.restore(saved["pubsub"])
        else:
            self._seed_data(seed)
        sf_app = SalesforceApp(
            self.org, self._sf_stats, self._sf_faults, make_control_handler(self, "salesforce")
        )
        d2c_app = D2CApp(
            self.d2c,
            {self.d2c_token: "crosswalk", self.d2c_storefront_token: "storefront"},
            self._d2c_stats,
            self._d2c_faults,
            make_control_handler(self, "d2c"),
        )
        self._sf_server = ServerThread(
            sf_app.handle,
            name="salesforce",
            host=host,
            port=salesforce_port,
            ssl_context=keys.server_ssl,
        )
        self._d2c_server = ServerThread(d2c_app.handle, name="d2c", host=host, port=d2c_port)
        self.entra = Directory()
        self.entra.ca_bundle = self.ca_bundle
        self._entra_server = ServerThread(
            EntraApp(self.entra).handle,
            name="entra",
            host=host,
            port=entra_port,
            ssl_context=keys.server_ssl,  # Entra serves HTTPS only; MSAL refuses anything else
        )
        # Event Grid topics ("salesforce", "d2c") over TLS; tokens from the Entra stand-in.
        self.eventgrid = EventGridTopics(self.entra, time_scale=eventgrid_time_scale, seed=seed)
        for topic in ("salesforce", "d2c"):
            self.eventgrid.create(topic)
        self._eventgrid_server = ServerThread(
            self.eventgrid.handle,
            name="eventgrid",
            host=host,
            port=eventgrid_port,
            ssl_context=keys.server_ssl,
        )
        self.salesforce_url = ""
        self.pubsub_target = ""
        self.d2c_url = ""
        self.entra_url = ""
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> Sandbox:
        """Bind both servers (free ports unless given) and fill in the URLs."""
        sf_port = self._sf_server.start()
        try:
            d2c_port = self._d2c_server.start()
        except BaseException:
            self._sf_server.stop()
            raise
        try:
            entra_port = self._entra_server.start()
            pubsub_port = self._pubsub_server.start()
            eventgrid_port = self._eventgrid_server.start()
        except BaseException:
            self._sf_server.stop()
            self._d2c_server.stop()
            self._entra_server.stop()
            self._pubsub_server.stop()
            raise
        self.salesforce_url = f"https://{self.host}:{sf_port}"
        self.d2c_url = f"http://{self.host}:{d2c_port}"
        self.entra_url = f"https://{self.host}:{entra_port}"
        self.pubsub_target = f"{self.host}:{pubsub_port}"
        self.eventgrid.url = f"https://{self.host}:{eventgrid_port}"
        self.entra.authority = self.entra_url
        self.org.instance_url = self.salesforce_url
        self._started = True
        return self

    @property
    def _state_path(self) -> Path:
        return self.data_dir / persist_mod.STATE_FILE

    def save(self) -> None:
        """Write the data to ``data_dir/state.json`` (done on close when ``persist``)."""
        persist_mod.save(
            self._state_path,
            seed=self.seed,
            salesforce=self.org.snapshot(),
            d2c=self.d2c.snapshot(),
            pubsub=self.bus.snapshot(),
        )

    def close(self) -> None:
        """Stop servers and outboxes; save (``persist``) or remove a temporary data folder."""
        self._sf_server.stop()
        self._d2c_server.stop()
        self._entra_server.stop()
        self._pubsub_server.stop()
        self._eventgrid_server.stop()
        self.eventgrid.close()
        if self._persist:
            self.save()
        self._sf_outbox.close()
        self._d2c_outbox.close()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start() if not self._started else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _seed_data(self, count: int) -> None:
        with self.org.store.lock:
            seed_org(
                self.org.store, self.org.ids, count, self.org.admin_user_id, self.seed_contacts
            )

    def reset(self, seed: int | None = None) -> None:
        """Back to the starting data (``seed`` Accounts; the original count by default).

        Clears stats, faults, API usage and queued/delivered events; issued tokens, event
        targets and delivery options stay.
        """
        if seed is not None:
            self.seed = seed
        self._sf_outbox.clear()
        self._d2c_outbox.clear()
        self.bus.reset()
        self._pubsub.faults = PubSubFaults()
        self.org.reset()
        self._seed_data(self.seed)
        self.d2c.reset()
        for s in (self._sf_stats, self._d2c_stats):
            s.clear()
        for f in (self._sf_faults, self._d2c_faults):
            f.clear()

    # -- identities ----------------------------------------------------------------------
    @property
    def integration_user_id(self) -> str:
        """The User whose tokens client-credentials and JWT issue: ``commitUser`` of API writes."""
        return self.org.integration_user_id

    @property
    def admin_user_id(self) -> str:
        """The "person" behind ``salesforce_edit`` and friends, and owner of seeded rows."""
        return self.org.admin_user_id

    @property
    def org_id(self) -> str:
        return self.org.org_id

    def salesforce_token(self) -> str:
        """A fresh access token for the integration user, without an OAuth round trip."""
        return self.org.tokens.issue(self.org.integration_user_id, self.salesforce_client_id)

    def info(self) -> dict[str, Any]:
        """URLs and development credentials (what ``python -m sandbox`` prints)."""
        return {
            "salesforce_url": self.salesforce_url,
            "pubsub_target": self.pubsub_target,
            "eventgrid_endpoints": {t: self.eventgrid.endpoint(t) for t in self.eventgrid.topics},
            "eventgrid_keys": {t: topic.key for t, topic in self.eventgrid.topics.items()},
            "d2c_url": self.d2c_url,
            "ca_bundle": self.ca_bundle,
            "api_version": self.api_version,
            "salesforce_client_id": self.salesforce_client_id,
            "salesforce_client_secret": self.salesforce_client_secret,
            "jwt_username": self.jwt_username,
            "jwt_private_key_path": self.jwt_private_key_path,
            "jwt_certificate_path": self.jwt_certificate_path,
            "integration_user_id": self.integration_user_id,
            "admin_user_id": self.admin_user_id,
            "org_id": self.org_id,
            "d2c_token": self.d2c_token,
            "d2c_storefront_token": self.d2c_storefront_token,
            "objects": sorted(OBJECTS),
            "entra_url": self.entra_url,
            "entra_tenant_id": self.entra.tenant_id,
            "entra_token_url": self.entra.token_url,
            "profile_api_audience": self.entra.api_app_id,
            "profile_api_scope": f"{self.entra.api_identifier_uri}/.default",
            "storefront_client_id": STOREFRONT_CLIENT_ID,
            "storefront_client_secret": STOREFRONT_CLIENT_SECRET,
        }


@contextlib.contextmanager
def run(
    seed: int = 0,
    events_to: str | None = None,
    salesforce_events_to: str | None = None,
    d2c_events_to: str | None = None,
    data_dir: str | Path | None = None,
    api_version: str = "59.0",
    daily_api_limit: int = DEFAULT_DAILY_API_LIMIT,
    **options: Any,
) -> Iterator[Sandbox]:
    """Start both stand-ins on free ports for the ``with`` block, then stop them."""
    sb = Sandbox(
        seed=seed,
        events_to=events_to,
        salesforce_events_to=salesforce_events_to,
        d2c_events_to=d2c_events_to,
        data_dir=data_dir,
        api_version=api_version,
        daily_api_limit=daily_api_limit,
        **options,
    )
    sb.start()
    try:
        yield sb
    finally:
        sb.close()
