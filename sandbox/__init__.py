"""Local stand-ins for Salesforce (REST API; Pub/Sub API over gRPC), the D2C customer API,
Entra ID and Event Grid topics, over real HTTP(S).

The app never imports this package, and this package imports nothing of the app: it plays
the outside systems. Start it with ``python -m sandbox`` or, in tests::

    with sandbox.run(seed=20) as sb:
        ...

Public names (kept stable; other tooling relies on them)
--------------------------------------------------------
``run(seed=0, events_to=None, salesforce_events_to=None, d2c_events_to=None, data_dir=None,
api_version="59.0", daily_api_limit=100_000, **options) -> ContextManager[Sandbox]``
    Both servers on free ports. ``options``: ``host``, ``salesforce_port``, ``d2c_port``,
    ``duplicate_events`` (0..1), ``reorder_events`` (bool), ``token_ttl`` (seconds),
    ``persist`` (bool: load/save ``data_dir/state.json``; needs ``data_dir``), ``entra_port``,
    ``pubsub_port``, ``pubsub_keepalive``, ``pubsub_idle_close``, ``eventgrid_port``,
    ``eventgrid_time_scale``, ``seed_contacts`` (Contacts per seeded Account; default 1-4).
``Sandbox`` (same keyword arguments; ``start()``, ``close()``, context manager)

Attributes of a running ``Sandbox`` ``sb``:
    ``salesforce_url`` (https, login and instance URL), ``d2c_url`` (http), ``ca_bundle``
    (PEM path to trust), ``api_version``, ``salesforce_client_id``,
    ``salesforce_client_secret``, ``jwt_username``, ``jwt_private_key_path``,
    ``jwt_certificate_path``, ``integration_user_id`` (005..., the user behind API tokens:
    ``commitUser`` of API changes), ``admin_user_id`` (the "person" of the helpers below),
    ``org_id``, ``d2c_token`` (API client "crosswalk"), ``d2c_storefront_token`` (API client
    "storefront"), ``data_dir``, ``seed``, ``entra_url`` (https) and ``entra``,
    ``pubsub_target`` (``host:port``, gRPC over TLS) and ``bus``, ``eventgrid`` (topics
    ``salesforce`` and ``d2c``: ``endpoint(name)``, ``topic(name)``, ``subscribe(...)``).

Methods:
    ``stats() -> dict``  calls per ``"METHOD /template"`` and ``total`` per service (control
        path not counted), Salesforce ``api_usage``, event outbox counters.
    ``reset(seed=None)``  starting data again; clears stats, faults, API usage, events.
    ``faults(service="both", *, path=None, method=None, latency=0.0, status=None, rate=1.0,
        errors=None, fail_next=None, drop=False, limit_exceeded=False) -> list[str]``
    ``clear_faults(service="both")``, ``list_faults(service="both")``,
        ``add_fault(service, spec_dict)``
    ``set_events_to(salesforce=None, d2c=None)``  webhook URLs (None: unchanged, "": none)
    ``set_event_delivery(*, duplicate=None, reorder=None, service="all")``
    ``events_delivered(service="all") -> list[dict]``, ``events_pending(service="all")``,
        ``wait_events_drained(timeout=10.0, service="all") -> bool``
    ``salesforce_token() -> str``  an access token without the OAuth round trip
    ``salesforce_create(sobject, fields) -> id``, ``salesforce_edit(sobject, id, fields)``,
        ``salesforce_delete(sobject, id)``, ``salesforce_undelete(sobject, id)``: a person's
        edits (commitUser = admin user, changeOrigin "")
    ``salesforce_records(sobject, include_deleted=False) -> list[dict]``,
        ``salesforce_record(sobject, id) -> dict``  (REST shape, read-only)
    ``salesforce_expire_tokens()``, ``salesforce_set_api_usage(used)``, ``advance_clock(s)``,
        ``salesforce_api_recovers_at()``, ``salesforce_fail_next_bulk_job(message)``
    ``d2c_register(email, last_name, company_name=None, first_name=None, phone=None,
        marketing_consent=False) -> customer``, ``d2c_edit(customer_id, fields) -> customer``
        (origin "storefront")
    ``d2c_customers() -> list``, ``d2c_customer(id)``, ``d2c_users(customer_id) -> list``
    ``pubsub_faults(drop_after=None, delay=0.0, limit_exceeded=False)``, ``pubsub_stats()``
    ``publish_events_to_topics(salesforce=False, d2c=True)``  events via the Event Grid topics
    ``info() -> dict``  URLs and credentials; ``save()`` writes ``data_dir/state.json``

Errors from the helpers: ``SalesforceError`` (``.status``, ``.code``, ``.message``,
``.fields``) and ``D2CProblem`` (``.status``, ``.body()``).
"""

from __future__ import annotations

from .api import DEFAULT_DAILY_API_LIMIT, Sandbox, run
from .d2c.errors import Problem as D2CProblem
from .salesforce.errors import SfError as SalesforceError

__all__ = ["DEFAULT_DAILY_API_LIMIT", "D2CProblem", "Sandbox", "SalesforceError", "run"]
