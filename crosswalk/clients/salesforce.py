"""The one client for the Salesforce org.

Crosswalk performs the OAuth 2.0 exchange itself (crosswalk.clients.salesforce_auth),
caches the token, and hands `simple-salesforce` the instance URL, the session id and a
`requests.Session` that trusts the configured CA bundle. An expired session is refreshed
once; every other failure is classified through crosswalk.errors.

SOQL is only ever built with `format_soql`, which quotes and escapes every value.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession
from simple_salesforce.format import format_soql

from crosswalk.allowance import AllowanceGovernor, AllowanceReading, ApiBudget, refusal
from crosswalk.clients.http import json_or_empty, make_session
from crosswalk.clients.keyvault import KeyVaultSecret
from crosswalk.clients.salesforce_auth import SYSTEM, SalesforceAccess, SalesforceLogin
from crosswalk.clients.salesforce_limits import address_fields, collection_calls
from crosswalk.clients.salesforce_soql import ACCOUNT_FIELDS, CONTACT_FIELDS, SIGNUP_FIELDS
from crosswalk.errors import (
    IntegrationError,
    error_for_salesforce,
    error_for_salesforce_record,
    error_for_status,
)
from crosswalk.salesforce_records import SalesforceAccount
from crosswalk.settings import SalesforceSettings

T = TypeVar("T")
ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"


class SalesforceClient:
    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        session: requests.Session | None = None,
        private_key: KeyVaultSecret | None = None,
    ) -> None:
        self._settings = settings
        # The JWT key from Key Vault: given (tests pass one with their credential), or built
        # from private_key_secret_uri with the app's identity.
        if private_key is None and settings.private_key_secret_uri is not None:
            private_key = KeyVaultSecret(str(settings.private_key_secret_uri))
        # `Sforce-Call-Options` shows up as `changeOrigin` (`...;client=crosswalk`) in the change
        # events our own writes cause, which is how their echoes are recognised.
        self._session = session or make_session(
            system=SYSTEM,
            ca_bundle=settings.ca_bundle,
            headers={"Sforce-Call-Options": f"client={settings.client_name}"},
        )
        self._lock = threading.Lock()
        self._sf: Salesforce | None = None
        self.governor = AllowanceGovernor(
            reserve_percent=settings.api_reserve_percent,
            wait_seconds=settings.allowance_wait_seconds,
        )
        if hasattr(self._session, "limit_listener"):
            self._session.limit_listener = lambda used, most: self.governor.observe(used, most)
        self._access: SalesforceAccess | None = None
        self._login = SalesforceLogin(settings, self._session, private_key)

    # ------------------------------------------------------------------ session

    def _connect(self) -> Salesforce:
        token = self._login.token()
        instance_url = str(self._settings.instance_url or token["instance_url"])
        return Salesforce(
            instance_url=instance_url,
            session_id=token["access_token"],
            version=self._settings.api_version,
            session=self._session,
        )

    def access(self, *, refresh: bool = False) -> SalesforceAccess:
        """A session for the Pub/Sub API (a fresh one with ``refresh``, after UNAUTHENTICATED)."""
        with self._lock:
            if self._access is None or refresh:
                self._access = self._login.access()
            return self._access

    def _client(self, *, refresh: bool = False) -> Salesforce:
        with self._lock:
            if self._sf is None or refresh:
                self._sf = self._connect()
            return self._sf

    def call(self, operation: Callable[[Salesforce], T]) -> T:
        """Run one simple-salesforce operation; refresh an expired session once.

        Below the allowance reserve the call does not go out (AllowanceExhausted), and a
        REQUEST_LIMIT_EXCEEDED for the daily total becomes the same wait, not a failure.
        """
        if self.governor.needs_probe():
            self._probe()
        self.governor.admit()
        try:
            try:
                return operation(self._client())
            except SalesforceExpiredSession:
                return operation(self._client(refresh=True))
        except Exception as exc:  # classify everything that leaves the client
            error = error_for_salesforce(exc)
        raise self._allowance_spent(error) from None

    def _allowance_spent(self, error: IntegrationError) -> IntegrationError:
        if error.code != "REQUEST_LIMIT_EXCEEDED" or "TotalRequests" not in error.detail:
            return error
        self.governor.spent()
        governor = self.governor
        return refusal(governor.reading(), governor.reserve_percent, governor.wait_seconds)

    def _probe(self) -> None:
        """One `/limits` request, for the reading its answer carries (a refusal: still spent)."""
        try:
            try:
                self._client().limits()
            except SalesforceExpiredSession:
                self._client(refresh=True).limits()
        except Exception as exc:  # the reading (or its absence) decides, not this error
            error = error_for_salesforce(exc)
            if error.code == "REQUEST_LIMIT_EXCEEDED":
                self.governor.spent()

    def allowance(self) -> AllowanceReading:
        """The governor's view; read with one `/limits` call only while it has none."""
        reading = self.governor.reading()
        if reading is None:
            budget = self.api_budget()
            reading = self.governor.reading() or AllowanceReading(
                used=budget.max - budget.remaining, max=budget.max, at=time.time()
            )
        return reading

    # ------------------------------------------------------------------ reads

    def get_account_with_contacts(self, account_id: str) -> SalesforceAccount | None:
        """The Account and its Contacts in one API call (a child subquery), plus one per
        further page of Contacts when there are more than Salesforce sends inline."""
        record = self.account_record_with_contacts(account_id)
        return SalesforceAccount.model_validate(record) if record is not None else None

    def account_record_with_contacts(self, account_id: str) -> dict[str, Any] | None:
        """The same read, as the REST API answered it (None once the Account is deleted)."""
        soql = format_soql(
            f"SELECT {ACCOUNT_FIELDS}, (SELECT {CONTACT_FIELDS} FROM Contacts) "
            "FROM Account WHERE Id = {}",
            account_id,
        )
        result = self.call(lambda sf: sf.query(soql))
        records = result.get("records", [])
        self.page_children(records, "Contacts")
        return records[0] if records else None

    def page_children(self, records: list[dict[str, Any]], relationship: str) -> int:
        """Read each record's child subquery to its end, in place; returns the calls made.

        A subquery with many children comes back `done: false` with a `nextRecordsUrl` of its
        own (SOQL and SOSL Reference, "Understanding Query Results"); a queryMore on the parent
        ends those cursors, so this runs before the next parent page is read.
        """
        calls = 0
        for record in records:
            result = record.get(relationship)
            while isinstance(result, dict) and not result.get("done", True):
                url = result.get("nextRecordsUrl")
                if not url:
                    break
                more = self.call(lambda sf, url=url: sf.query_more(url, identifier_is_url=True))
                calls += 1
                result["records"] = [*result.get("records", []), *more.get("records", [])]
                result["done"] = more.get("done", True)
                result["nextRecordsUrl"] = more.get("nextRecordsUrl")
        return calls

    def api_budget(self) -> ApiBudget:
        """Today's API allowance (one API call)."""
        daily = self.call(lambda sf: sf.limits()).get("DailyApiRequests") or {}
        return ApiBudget(max=int(daily.get("Max", 0)), remaining=int(daily.get("Remaining", 0)))

    def iter_query_pages(
        self, soql: str, *, include_deleted: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page of a query as it arrives: one API call per page."""
        page = self.call(lambda sf: sf.query(soql, include_deleted=include_deleted))
        while True:
            yield page.get("records", [])
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self.call(
                lambda sf, url=next_url: sf.query_more(
                    url, identifier_is_url=True, include_deleted=include_deleted
                )
            )

    def find_signup_record(
        self, sobject: str, user_id: str, email: str | None, account_id: str | None = None
    ) -> dict[str, Any] | None:
        """The record a D2C sign-up belongs on, if Salesforce has one already (one API call).

        That is the record carrying the D2C user id; failing that, the oldest one with the same
        email and no D2C user yet: the person was in Salesforce before they registered. For a
        Contact the email must be under `account_id`; a Lead must not be converted. The
        returned record carries the person fields, so a caller can see what is already filled.
        """
        by_user = format_soql("D2C_User_Id__c = {}", user_id)
        where = by_user
        if email:
            scope = (
                format_soql("AccountId = {}", account_id)
                if sobject == "Contact"
                else "IsConverted = false"
            )
            by_email = format_soql("Email = {} AND D2C_User_Id__c = null", email)
            where = f"{by_user} OR ({scope} AND {by_email})"
        soql = (
            f"SELECT {SIGNUP_FIELDS[sobject]} FROM {sobject} WHERE {where} "
            "ORDER BY CreatedDate, Id LIMIT 10"
        )
        records = self.call(lambda sf: sf.query(soql)).get("records", [])
        for record in records:
            if record.get("D2C_User_Id__c") == user_id:
                return record
        return records[0] if records else None

    def converted_lead(self, lead_id: str) -> dict[str, str] | None:
        """Where a converted Lead went: `contact_id` and `account_id` (one API call)."""
        soql = format_soql(
            "SELECT ConvertedContactId, ConvertedAccountId FROM Lead WHERE Id = {}", lead_id
        )
        records = self.call(lambda sf: sf.query(soql)).get("records", [])
        if not records or not records[0].get("ConvertedContactId"):
            return None
        return {
            "contact_id": records[0]["ConvertedContactId"],
            "account_id": records[0]["ConvertedAccountId"],
        }

    def accounts_modified_since(self, since: datetime, *, limit: int | None = None) -> str:
        """The reconciliation query: changed Accounts in modstamp order, escaped."""
        soql = format_soql(
            f"SELECT {ACCOUNT_FIELDS} FROM Account WHERE SystemModstamp > {{}} "
            "ORDER BY SystemModstamp, Id",
            since,
        )
        return soql if limit is None else f"{soql} LIMIT {int(limit)}"

    # ------------------------------------------------------------------ writes

    def _fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Fields as this org takes them (country and state codes where its picklists are on)."""
        return address_fields(fields, self._settings.state_country_picklists)

    def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        body = self._fields(fields)
        self.call(lambda sf: getattr(sf, sobject).update(record_id, body))

    def upsert(
        self, sobject: str, external_field: str, external_value: str, fields: Mapping[str, Any]
    ) -> str | None:
        """Upsert by external id; returns the Id when Salesforce reports one (created)."""
        path = f"{external_field}/{external_value}"
        body = self._fields(fields)
        response = self.call(lambda sf: getattr(sf, sobject).upsert(path, body, raw_response=True))
        # 201 created / 200 updated (API >= 46.0) carry {"id", "created"}; 204 has no body.
        body = json_or_empty(response) if response.content else {}
        return body.get("id")

    def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        body = self._fields(fields)
        result = self.call(lambda sf: getattr(sf, sobject).create(body))
        return str(result["id"])

    def find_id(self, sobject: str, external_field: str, external_value: str) -> str | None:
        soql = format_soql(
            f"SELECT Id FROM {sobject} WHERE {external_field} = {{}} LIMIT 1", external_value
        )
        records = self.call(lambda sf: sf.query(soql)).get("records", [])
        return records[0]["Id"] if records else None

    def update_each(self, records: Sequence[Mapping[str, Any]]) -> list[RecordOutcome]:
        """sObject Collections updates, each record succeeding or failing on its own.

        Records are sent as `collection_calls` lays them out (by type, one record per Id, 200
        a call), so no call holds more chunks than Salesforce processes. Only a failure of a
        whole call raises.
        """
        outcomes: list[RecordOutcome] = []
        for call in collection_calls([self._fields(r) for r in records]):
            outcomes.extend(self._update_call(call, all_or_none=False))
        return outcomes

    def update_records(
        self, records: Sequence[Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[RecordOutcome]:
        """sObject Collections update (laid out as `update_each` does); a refused record
        raises, classified by its errorCode (a row lock is transient) with its field named,
        even though the HTTP status was 200. With allOrNone the record that caused the
        rollback is the one reported, not a record rolled back because of it."""
        outcomes: list[RecordOutcome] = []
        for call in collection_calls([self._fields(r) for r in records]):
            results = self._update_call(call, all_or_none=all_or_none)
            failed = [o for o in results if o.error is not None]
            if failed:
                cause = next((o for o in failed if o.code != ROLLED_BACK), failed[0])
                assert cause.error is not None
                raise cause.error
            outcomes.extend(results)
        return outcomes

    def _update_call(
        self, records: list[dict[str, Any]], *, all_or_none: bool
    ) -> list[RecordOutcome]:
        body = {"allOrNone": all_or_none, "records": records}
        response = self.call(lambda sf: sf.restful("composite/sobjects", method="PATCH", json=body))
        if not isinstance(response, list) or len(response) != len(records):
            raise error_for_status(SYSTEM, 502, "collections answer does not match the request")
        outcomes = []
        for record, result in zip(records, response, strict=True):
            sobject = record["attributes"]["type"]
            if result.get("success"):
                outcomes.append(RecordOutcome(sobject, record["Id"], None))
                continue
            first = (result.get("errors") or [{}])[0]
            error = error_for_salesforce_record(sobject, record["Id"], first)
            outcomes.append(RecordOutcome(sobject, record["Id"], error))
        return outcomes


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """One record of an sObject Collections call: written, or refused with its error."""

    sobject: str
    id: str
    error: IntegrationError | None

    @property
    def code(self) -> str | None:
        return self.error.code if self.error is not None else None
