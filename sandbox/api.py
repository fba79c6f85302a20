"""The in-process API: ``with sandbox.run(seed=...) as sb:`` starts both stand-ins.

Each server runs on its own event loop in a background thread on a free port (unless a port
is given); events go out through one background outbox per service. ``Sandbox`` is also what
the control path (``/__sandbox/...``) and ``python -m sandbox`` drive.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar

from . import persist as persist_mod
from .clock import Clock, sf_datetime
from .control import make_control_handler
from .d2c.app import D2CApp
from .d2c.store import D2CPlatform
from .entra.app import EntraApp
from .entra.directory import STOREFRONT_CLIENT_ID, STOREFRONT_CLIENT_SECRET, Directory
from .faults import Faults
from .outbox import Outbox
from .salesforce.app import SalesforceApp
from .salesforce.org import OrgConfig, SalesforceOrg
from .salesforce.schema import OBJECTS
from .salesforce.shape import rest_record
from .salesforce.store import Actor, Change
from .seed import seed_org
from .server import ServerThread
from .stats import Stats
from .tls import load_key_material

Service = Literal["salesforce", "d2c", "both"]
T = TypeVar("T")


def _of_service(service: str, salesforce: T, d2c: T) -> list[T]:
    """The Salesforce part, the D2C part, or both ("both" or "all")."""
    if service in ("both", "all"):
        return [salesforce, d2c]
    if service == "salesforce":
        return [salesforce]
    if service == "d2c":
        return [d2c]
    raise ValueError(f"unknown service {service!r}")


DEFAULT_DAILY_API_LIMIT = 100_000
SALESFORCE_CLIENT_ID = "crosswalk-dev-client"
SALESFORCE_CLIENT_SECRET = "crosswalk-dev-secret"
D2C_TOKEN = "d2c-dev-token"
D2C_STOREFRONT_TOKEN = "d2c-storefront-token"
JWT_USERNAME = "integration@crosswalk.sandbox"
ADMIN_USERNAME = "admin@crosswalk.sandbox"


class Sandbox:
    """Both stand-ins, their shared clock and the helpers tests use to act and inspect."""

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
    ) -> None:
        self.seed = seed
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
        self._sf_stats, self._d2c_stats = Stats(), Stats()
        self._sf_faults, self._d2c_faults = Faults("salesforce", seed), Faults("d2c", seed)
        self._persist = persist and not self._own_dir
        saved = persist_mod.load(self._state_path) if self._persist else None
        if saved is not None:
            self.seed = saved["seed"]
            self.org.restore(saved["salesforce"])
            self.d2c.restore(saved["d2c"])
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
        self._entra_server = ServerThread(
            EntraApp(self.entra).handle, name="entra", host=host, port=entra_port
        )
        self.salesforce_url = ""
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
        except BaseException:
            self._sf_server.stop()
            self._d2c_server.stop()
            raise
        self.salesforce_url = f"https://{self.host}:{sf_port}"
        self.d2c_url = f"http://{self.host}:{d2c_port}"
        self.entra_url = f"http://{self.host}:{entra_port}"
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
        )

    def close(self) -> None:
        """Stop servers and outboxes; save (``persist``) or remove a temporary data folder."""
        self._sf_server.stop()
        self._d2c_server.stop()
        self._entra_server.stop()
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
            seed_org(self.org.store, self.org.ids, count, self.org.admin_user_id)

    def reset(self, seed: int | None = None) -> None:
        """Back to the starting data (``seed`` Accounts; the original count by default).

        Clears stats, faults, API usage and queued/delivered events; issued tokens, event
        targets and delivery options stay.
        """
        if seed is not None:
            self.seed = seed
        self._sf_outbox.clear()
        self._d2c_outbox.clear()
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

    # -- observation ---------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Calls per endpoint (``"METHOD /template"``) and totals per service, plus events."""
        used, limit = self.org.usage()
        return {
            "salesforce": {**self._sf_stats.snapshot(), "api_usage": {"used": used, "max": limit}},
            "d2c": self._d2c_stats.snapshot(),
            "events": {
                "salesforce": self._sf_outbox.snapshot(),
                "d2c": self._d2c_outbox.snapshot(),
            },
        }

    def _outboxes(self, service: str) -> list[Outbox]:
        return _of_service(service, self._sf_outbox, self._d2c_outbox)

    def events_delivered(self, service: str = "all") -> list[dict[str, Any]]:
        """CloudEvents the webhook accepted (2xx), in delivery order, duplicates included."""
        return [e for o in self._outboxes(service) for e in o.delivered()]

    def events_pending(self, service: str = "all") -> int:
        return sum(o.pending() for o in self._outboxes(service))

    def wait_events_drained(self, timeout: float = 10.0, service: str = "all") -> bool:
        """Block until every queued event was delivered; False if ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        for o in self._outboxes(service):
            if not o.wait_drained(max(0.0, deadline - time.monotonic())):
                return False
        return True

    # -- configuration -------------------------------------------------------------------
    def set_events_to(self, salesforce: str | None = None, d2c: str | None = None) -> None:
        """Point change events at webhooks; None leaves a target alone, "" removes it."""
        if salesforce is not None:
            self._sf_outbox.set_target(salesforce)
        if d2c is not None:
            self._d2c_outbox.set_target(d2c)

    def set_event_delivery(
        self, *, duplicate: float | None = None, reorder: bool | None = None, service: str = "all"
    ) -> None:
        """Test options: ``duplicate`` = probability an event is sent twice; ``reorder`` swaps
        each pair of neighbouring events."""
        for o in self._outboxes(service):
            o.configure(duplicate=duplicate, reorder=reorder)

    def _faults_of(self, service: str) -> list[Faults]:
        return _of_service(service, self._sf_faults, self._d2c_faults)

    def faults(
        self,
        service: Service = "both",
        *,
        path: str | None = None,
        method: str | None = None,
        latency: float = 0.0,
        status: int | None = None,
        rate: float = 1.0,
        errors: dict[int, float] | None = None,
        fail_next: int | None = None,
        drop: bool = False,
        limit_exceeded: bool = False,
    ) -> list[str]:
        """Add a fault rule; returns its id(s). See docs/sandbox.md "Faults"."""
        spec: dict[str, Any] = {
            "path": path,
            "method": method,
            "latency": latency,
            "errors": errors,
            "fail_next": fail_next,
            "drop": drop,
            "limit_exceeded": limit_exceeded,
        }
        if status is not None:
            spec["status"] = status
            spec["rate"] = rate
        return [f.add(spec).id for f in self._faults_of(service)]

    def add_fault(self, service: str, spec: dict[str, Any]) -> list[str]:
        """The JSON form of :meth:`faults` (control path)."""
        return [f.add(spec).id for f in self._faults_of(service)]

    def list_faults(self, service: str = "both") -> list[dict[str, Any]]:
        return [r for f in self._faults_of(service) for r in f.list()]

    def clear_faults(self, service: str = "both") -> None:
        for f in self._faults_of(service):
            f.clear()

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward (tokens expire, timestamps jump) without sleeping."""
        self.clock.advance(seconds)

    def salesforce_expire_tokens(self) -> None:
        """Every issued access token answers 401 INVALID_SESSION_ID from now on."""
        self.org.tokens.expire_all()

    def salesforce_api_usage(self) -> dict[str, int]:
        """Today's API calls so far, and the org's daily allowance."""
        used, limit = self.org.usage()
        return {"used": used, "max": limit}

    def salesforce_set_api_usage(self, used: int) -> None:
        """Set today's API usage (e.g. to the limit, to test REQUEST_LIMIT_EXCEEDED)."""
        self.org.set_api_usage(used)

    # -- a person editing Salesforce (UI-like: commitUser admin, changeOrigin "") ---------
    def _person(self) -> Actor:
        return Actor(user_id=self.org.admin_user_id, change_origin="")

    def salesforce_create(self, sobject: str, fields: dict[str, Any]) -> str:
        t = self.org.sobject(sobject)
        with self.org.transaction(self._person()) as txn:
            return self.org.dml.create(txn, t, fields)

    def salesforce_edit(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        t = self.org.sobject(sobject)
        with self.org.transaction(self._person()) as txn:
            self.org.dml.update(txn, t, record_id, fields)

    def salesforce_delete(self, sobject: str, record_id: str) -> None:
        t = self.org.sobject(sobject)
        with self.org.transaction(self._person()) as txn:
            self.org.dml.delete(txn, t, record_id)

    def salesforce_undelete(self, sobject: str, record_id: str) -> None:
        t = self.org.sobject(sobject)
        with self.org.transaction(self._person()) as txn:
            self.org.dml.undelete(txn, t, record_id)

    def salesforce_org_rules(
        self,
        *,
        restricted_picklists: list[str] | None = None,
        state_country_picklists: bool | None = None,
        duplicate_rules: bool | None = None,
        concurrent_long_requests: int | None = None,
        long_request_seconds: float | None = None,
    ) -> None:
        """Switch the org settings that change what a write may contain (an admin's choice
        in Salesforce): restricted picklists ("Account.Industry"), State and Country/Territory
        Picklists, the standard Contact and Lead duplicate rules; and the limit on concurrent
        long-running requests (25 of 20 seconds or more; smaller in tests)."""
        rules = self.org.dml.rules
        with self.org.store.lock:
            if restricted_picklists is not None:
                rules.restricted_picklists = frozenset(restricted_picklists)
            if state_country_picklists is not None:
                rules.state_country_picklists = state_country_picklists
            if duplicate_rules is not None:
                rules.duplicate_rules = duplicate_rules
            if concurrent_long_requests is not None:
                rules.concurrent_long_requests = concurrent_long_requests
            if long_request_seconds is not None:
                rules.long_request_seconds = long_request_seconds

    def salesforce_edit_in_flight(
        self, sobject: str, record_id: str, fields: dict[str, Any], began_seconds_ago: float
    ) -> None:
        """A person's edit in a transaction that began `began_seconds_ago` and commits now:
        its SystemModstamp is the earlier time, so a query that ran in between never saw it
        and a later `SystemModstamp > watermark` may not either ("in flight",
        salesforce.stackexchange.com/q/234824)."""
        t = self.org.sobject(sobject)
        began = sf_datetime(self.clock.now_ms() - int(began_seconds_ago * 1000))
        with self.org.transaction(self._person()) as txn:
            self.org.dml.update(txn, t, record_id, fields)
            row = dict(self.org.store.table(t.name).rows[record_id])
            row["SystemModstamp"] = row["LastModifiedDate"] = began
            txn.put(t.name, record_id, row)
            txn.changes[-1].record = row

    def salesforce_hold_row_lock(self, record_id: str, writes: int = 1) -> None:
        """Another transaction holds the record: its next `writes` writes through the API are
        refused per record with UNABLE_TO_LOCK_ROW, as Salesforce does under contention."""
        with self.org.store.lock:
            self.org.dml.held[record_id] = int(writes)

    def salesforce_edit_outside_transactions(
        self, sobject: str, record_id: str, fields: dict[str, Any]
    ) -> None:
        """A change applied directly in the database (a data clean-up job): the record
        changes, and subscribers get a `GAP_UPDATE` event without field values."""
        t = self.org.sobject(sobject)
        with self.org.transaction(self._person()) as txn:
            self.org.dml.update(txn, t, record_id, fields)
            for change in txn.changes:
                change.change_type = f"GAP_{change.change_type}"

    def salesforce_bulk_edit(
        self,
        sobject: str,
        record_ids: list[str],
        fields: dict[str, Any],
        *,
        overflow_after: int = 100_000,
    ) -> None:
        """One transaction that edits every record. As in Salesforce, the first
        `overflow_after` changes get change events and the rest one `GAP_OVERFLOW` event per
        object, with no record ids (Salesforce's threshold is 100,000; tests pass less)."""
        t = self.org.sobject(sobject)
        with self.org.transaction(self._person()) as txn:
            for record_id in record_ids:
                self.org.dml.update(txn, t, record_id, fields)
            beyond = txn.changes[overflow_after:]
            if beyond:
                del txn.changes[overflow_after:]
                for name in dict.fromkeys(change.sobject for change in beyond):
                    txn.changes.append(Change(name, "", "GAP_OVERFLOW", {}))

    def salesforce_convert_lead(
        self, record_id: str, account_id: str | None = None
    ) -> dict[str, str]:
        """Convert a Lead as a person does (into a Contact, under `account_id` or a new
        Account); returns `accountId` and `contactId`."""
        with self.org.transaction(self._person()) as txn:
            lead = self.org.dml.convert_lead(txn, record_id, account_id)
        return {"accountId": lead["ConvertedAccountId"], "contactId": lead["ConvertedContactId"]}

    def salesforce_records(
        self, sobject: str, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        """Rows as the REST API shows them (all fields), oldest first; read-only."""
        return self.org.records(sobject, include_deleted=include_deleted)

    def salesforce_record(self, sobject: str, record_id: str) -> dict[str, Any]:
        t = self.org.sobject(sobject)
        with self.org.store.lock:
            row = self.org.dml.row(t, record_id, allow_deleted=True)
            return rest_record(t, row, self.api_version)

    # -- a person on the D2C storefront (origin "storefront") -----------------------------
    def d2c_register(
        self,
        email: str,
        last_name: str,
        company_name: str | None = None,
        first_name: str | None = None,
        phone: str | None = None,
        marketing_consent: bool = False,
    ) -> dict[str, Any]:
        """Self sign-up, as the storefront does it; emits ``customer.registered``."""
        body: dict[str, Any] = {"email": email, "last_name": last_name}
        for key, value in (
            ("company_name", company_name),
            ("first_name", first_name),
            ("phone", phone),
        ):
            if value is not None:
                body[key] = value
        if marketing_consent:
            body["marketing_consent"] = True
        with self.d2c.lock:
            customer, _ = self.d2c.register(body, "storefront")
            return dict(customer)

    def d2c_edit(self, customer_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A storefront edit (merge patch, no If-Match); emits ``customer.updated``."""
        with self.d2c.lock:
            return dict(
                self.d2c.update_customer(customer_id, fields, "storefront", None, check_etag=False)
            )

    # -- D2C staff in the platform's back office (origin "backoffice") --------------------
    def d2c_create_customer(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A customer made by hand (validated as the API does); emits ``customer.created``."""
        with self.d2c.lock:
            return dict(self.d2c.create_customer(fields, "backoffice"))

    def d2c_add_user(self, customer_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A user invited by hand (validated as the API does)."""
        with self.d2c.lock:
            return dict(self.d2c.invite_user(customer_id, fields, "backoffice"))

    def d2c_deactivate(self, customer_id: str, reason: str) -> dict[str, Any]:
        with self.d2c.lock:
            return dict(self.d2c.deactivate(customer_id, {"reason": reason}, "backoffice"))

    def d2c_customers(self) -> list[dict[str, Any]]:
        with self.d2c.lock:
            return [dict(c) for c in self.d2c.customers.values()]

    def d2c_customer(self, customer_id: str) -> dict[str, Any]:
        with self.d2c.lock:
            return dict(self.d2c.customer(customer_id))

    def d2c_users(self, customer_id: str) -> list[dict[str, Any]]:
        with self.d2c.lock:
            return [dict(u) for u in self.d2c.list_users(customer_id)["data"]]

    def info(self) -> dict[str, Any]:
        """URLs and development credentials (what ``python -m sandbox`` prints)."""
        return {
            "salesforce_url": self.salesforce_url,
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
