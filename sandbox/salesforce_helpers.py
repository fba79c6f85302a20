"""The Salesforce org as tests change it: a person's edits, an admin's switches, usage.

A part of :class:`sandbox.api.Sandbox` (a mixin): everything here goes through the org
(``SalesforceOrg``) in one transaction, as the REST API's writes do.
"""

from __future__ import annotations

from typing import Any

from .clock import Clock, sf_datetime
from .salesforce.bulk_jobs import jobs_of
from .salesforce.bulk_jobs import listing as bulk_listing
from .salesforce.org import SalesforceOrg
from .salesforce.shape import rest_record
from .salesforce.store import Actor, Change


class SalesforceHelpers:
    """A person (commitUser admin, changeOrigin "") and an admin acting on the org."""

    org: SalesforceOrg
    clock: Clock
    api_version: str

    # -- the org's tokens, API usage and Bulk jobs --------------------------------------
    def salesforce_expire_tokens(self) -> None:
        """Every issued access token answers 401 INVALID_SESSION_ID from now on."""
        self.org.tokens.expire_all()

    def salesforce_api_usage(self) -> dict[str, int]:
        """Today's API calls so far, and the org's daily allowance."""
        used, limit = self.org.usage()
        return {"used": used, "max": limit}

    def salesforce_set_api_usage(self, used: int) -> None:
        """Set the API usage of the last 24 hours, all spent now (the limit: run the org dry)."""
        self.org.set_api_usage(used)

    def salesforce_api_recovers_at(self) -> float | None:
        """Sandbox-clock epoch seconds when the oldest counted call leaves the 24-hour window."""
        at = self.org.api.recovers_at_ms()
        return None if at is None else at / 1000

    def salesforce_bulk_jobs(self, kind: str = "query") -> list[dict[str, Any]]:
        """The Bulk API 2.0 jobs the org still keeps (not deleted), as `GET /jobs/<kind>`
        lists them; read-only, no API call counted."""
        with self.org.store.lock:
            return bulk_listing(jobs_of(self.org), kind)["records"]

    def salesforce_fail_next_bulk_job(self, message: str = "InternalServerError") -> None:
        """The next Bulk API 2.0 job to run fails with `message` as its errorMessage."""
        with self.org.store.lock:
            jobs_of(self.org).fail_next.append(message)

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
        whole_second_stamps: bool | None = None,
    ) -> None:
        """Switch the org settings that change what a write may contain (an admin's choice
        in Salesforce): restricted picklists ("Account.Industry"), State and Country/Territory
        Picklists, the standard Contact and Lead duplicate rules; and the limit on concurrent
        long-running requests (25 of 20 seconds or more; smaller in tests); and audit stamps in
        whole seconds, as Salesforce keeps them (not an org setting: on by default; off gives
        milliseconds, docs/sandbox.md)."""
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
            if whole_second_stamps is not None:
                rules.whole_second_stamps = whole_second_stamps

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
