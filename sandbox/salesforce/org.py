"""One simulated org: data, users, tokens, API usage, query cursors and change-event commits."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..clock import Clock, sf_datetime
from ..outbox import Outbox
from .allowance import RollingAllowance
from .cursors import Cursors
from .dml import Dml
from .errors import SfError
from .events import ChangeEventBuilder
from .ids import IdFactory, make_id
from .oauth import OAuthConfig, TokenService
from .schema import OBJECTS
from .shape import rest_record
from .sobject import SObjectType
from .soql import compile_query, run
from .store import Actor, Store, Txn

ORG_ID = make_id("00D", 4_242_424)
DEFAULT_BATCH = 2000
DAILY_BULK_BATCHES = 15_000  # shared by Bulk API and Bulk API 2.0 ingest, rolling 24 h
DAILY_BULK_QUERY_JOBS = 10_000


@dataclass(frozen=True)
class OrgConfig:
    api_version: str
    daily_api_limit: int
    client_id: str
    client_secret: str
    jwt_username: str
    admin_username: str
    token_ttl: float


def change_origin(version: str, client: str | None) -> str:
    base = f"com/salesforce/api/rest/{version}"
    return f"{base};client={client}" if client else base


class SalesforceOrg:
    """State behind the Salesforce stand-in; every public method takes ``store.lock``."""

    def __init__(
        self, config: OrgConfig, clock: Clock, outbox: Outbox, jwt_public_key: Any
    ) -> None:
        self.config = config
        self.clock = clock
        self.outbox = outbox
        self.store = Store()
        self.ids = IdFactory()
        self.dml = Dml(self.store, self.ids, clock)
        self.events = ChangeEventBuilder()
        # Called with each commit's change events after the outbox (the Pub/Sub API's bus).
        self.listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        self.org_id = ORG_ID
        self.instance_url = ""
        self.api = RollingAllowance(config.daily_api_limit, clock.now_ms)
        self.bulk_batches = RollingAllowance(DAILY_BULK_BATCHES, clock.now_ms)
        self.bulk_query_jobs = RollingAllowance(DAILY_BULK_QUERY_JOBS, clock.now_ms)
        self.bulk: Any = None  # the Bulk API 2.0 jobs (bulk_jobs.BulkJobs), made on first use
        self.cursors = Cursors()
        self.integration_user_id = ""
        self.admin_user_id = ""
        self._create_users()
        self.tokens = TokenService(
            OAuthConfig(
                org_id=self.org_id,
                client_id=config.client_id,
                client_secret=config.client_secret,
                users_by_username={
                    config.jwt_username.lower(): self.integration_user_id,
                    config.admin_username.lower(): self.admin_user_id,
                },
                integration_user_id=self.integration_user_id,
                jwt_public_key=jwt_public_key,
                ttl_seconds=config.token_ttl,
            ),
            clock,
        )

    # -- lifecycle ---------------------------------------------------------------------
    def _create_users(self) -> None:
        now = sf_datetime(self.clock.now_ms())
        users = [
            ("Crosswalk", "Integration", self.config.jwt_username),
            ("Ada", "Admin", self.config.admin_username),
        ]
        ids = []
        for first, last, username in users:
            uid = self.ids.new("005")
            ids.append(uid)
            self.store.put(
                "User",
                uid,
                {
                    "Id": uid,
                    "IsDeleted": False,
                    "Username": username,
                    "FirstName": first,
                    "LastName": last,
                    "Name": f"{first} {last}",
                    "Email": username,
                    "IsActive": True,
                    "CreatedDate": now,
                    "LastModifiedDate": now,
                    "SystemModstamp": now,
                },
            )
        self.integration_user_id, self.admin_user_id = ids
        for uid in ids:
            row = dict(self.store.table("User").rows[uid])
            row["CreatedById"] = row["LastModifiedById"] = self.admin_user_id
            self.store.put("User", uid, row)

    def reset(self) -> None:
        """Back to an empty org with the same users and Ids (tokens stay valid)."""
        with self.store.lock:
            self.store.clear()
            self.ids.reset()
            self.events.reset()
            self.cursors.clear()
            self.dml.held.clear()
            self.dml.recycle_bin.clear()
            self._create_users()
            self.bulk = None
        for allowance in (self.api, self.bulk_batches, self.bulk_query_jobs):
            allowance.set_usage(0)

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to come back after a restart (``python -m sandbox --data``)."""
        with self.store.lock:
            return {
                "tables": {n: list(t.rows.values()) for n, t in self.store.tables.items()},
                "ids": self.ids.state(),
                "api_used": self.api.state(),
                "bulk_batches": self.bulk_batches.state(),
                "bulk_query_jobs": self.bulk_query_jobs.state(),
            }

    def restore(self, state: dict[str, Any]) -> None:
        with self.store.lock:
            self.store.clear()
            for name, rows in state["tables"].items():
                for row in rows:
                    self.store.put(name, row["Id"], row)
            self.ids.restore(state["ids"])
            self.cursors.clear()
        self.api.restore(state.get("api_used", 0))
        self.bulk_batches.restore(state.get("bulk_batches", 0))
        self.bulk_query_jobs.restore(state.get("bulk_query_jobs", 0))

    # -- API usage ---------------------------------------------------------------------
    def use_api_call(self) -> tuple[int, int]:
        """Count one call against the rolling 24-hour allocation; 403 while it is spent."""
        spent, used = self.api.try_spend()
        if not spent:
            raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return used, self.api.limit

    def usage(self) -> tuple[int, int]:
        return self.api.usage(), self.api.limit

    def set_api_usage(self, used: int) -> None:
        self.api.set_usage(used)

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def transaction(self, actor: Actor, version: str | None = None) -> Iterator[Txn]:
        """All changes inside commit together (events published) or not at all."""
        with self.store.lock:
            txn = Txn(self.store, actor)
            try:
                yield txn
            except BaseException:
                txn.rollback()
                raise
            self.commit(txn, version or self.config.api_version)

    def commit(self, txn: Txn, version: str) -> None:
        if not txn.changes:
            return
        events = self.events.build(
            txn.changes,
            commit_ms=self.clock.now_ms(),
            commit_user=txn.actor.user_id,
            change_origin=txn.actor.change_origin,
            api_version=version,
        )
        txn.changes = []
        txn.undo = []
        self.outbox.publish(events)
        for listener in self.listeners:
            listener(events)

    def sobject(self, name: str) -> SObjectType:
        t = self.store.tables.get(name)
        if t is None:
            for key, table in self.store.tables.items():
                if key.lower() == name.lower():
                    return table.type
            raise SfError(
                404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{name}'"
            )
        return t.type

    # -- queries -----------------------------------------------------------------------
    def query(
        self, text: str, version: str, *, include_deleted: bool, batch: int
    ) -> dict[str, Any]:
        with self.store.lock:
            self.dml.purge_recycle_bin()
            plan = compile_query(self.store, text, version, self.clock.now_ms())
            rows = run(plan, self.store, include_deleted=include_deleted)
            if plan.count_only:
                return {"totalSize": len(rows), "done": True, "records": []}
            assert plan.project is not None
            project = plan.project
            if include_deleted:  # queryAll: deleted children under every parent too
                project = functools.partial(plan.project, include_deleted=True)
            return self.cursors.first_page(rows, project, version, batch, self.clock.now_ms())

    def query_more(self, locator: str, version: str, batch: int) -> dict[str, Any]:
        with self.store.lock:
            return self.cursors.next_page(locator, batch, self.clock.now_ms())

    # -- inspection --------------------------------------------------------------------
    def records(self, sobject: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every row as the REST API shows it (all fields, nulls included), oldest first."""
        with self.store.lock:
            t = self.sobject(sobject)
            rows = self.store.table(t.name).rows.values()
            v = self.config.api_version
            return [rest_record(t, r, v) for r in rows if include_deleted or not r["IsDeleted"]]


__all__ = ["OBJECTS", "OrgConfig", "SalesforceOrg", "change_origin"]
