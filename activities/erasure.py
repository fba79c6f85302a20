"""Activities of the erasure saga (orchestrators/person_erasure.py): each one erases the
person from one system or store, is safe to run again, and returns counts, never their data.
Each reads who to erase from the request document (crosswalk/erasure/requests.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from simple_salesforce.format import format_soql

from activities import bp
from crosswalk.curated_jobs import ONE_AT_A_TIME
from crosswalk.erasure.eventgrid import erase_eventgrid_dead_letters
from crosswalk.erasure.gate import erased_values
from crosswalk.erasure.keys import Person, contact_tombstone, mentions, tombstones
from crosswalk.erasure.lake import erase_dead_letters, erase_raw, scrub
from crosswalk.erasure.requests import (
    ErasureReceipt,
    ErasureRequest,
    load_request,
    receipt_path,
    request_path,
    save_receipt,
)
from crosswalk.errors import ConfigurationError, NotFound, PermanentError
from crosswalk.lake.curated import ProfileTable
from crosswalk.models import ReconciliationReport, UnifiedProfile
from crosswalk.profiles.base import LookupKind
from crosswalk.services import services
from crosswalk.settings import SalesforceErasure

SYSTEM = "erasure"
ANONYMISED = {
    "FirstName": None,
    "LastName": "Erased",
    "Email": None,
    "Phone": None,
    "MobilePhone": None,
    "D2C_User_Id__c": None,
    "HasOptedOutOfEmail": True,
}


def _request(payload: dict) -> ErasureRequest:
    request = load_request(services().lake, payload["request_id"])
    if request is None:
        raise PermanentError(
            f"erasure request {payload['request_id']} is gone", system=SYSTEM, code="NO_REQUEST"
        )
    return request


def _key() -> bytes:
    key = services().settings.erasure.key_bytes()
    if key is None:
        raise ConfigurationError("ERASURE_KEY is not set: erasure is off")
    return key


@bp.activity_trigger(input_name="payload")
def erasure_begin(payload: dict) -> dict[str, Any]:
    """Tombstone the person first (nothing may bring them back while the saga runs), then
    find where they are: profiles (by lookup entries), Salesforce records, D2C users."""
    svc = services()
    request = _request(payload)
    person = request.person()
    key = _key()
    svc.profiles.put_tombstones(tombstones(key, person), datetime.now(UTC))
    profiles: dict[str, UnifiedProfile] = {}
    if person.email:
        profiles.update(
            {p.sf_account_id: p for p in svc.profiles.find(LookupKind.EMAIL, person.email)}
        )
    if person.d2c_user_id:
        found = svc.profiles.find(LookupKind.D2C_USER, person.d2c_user_id)
        profiles.update({p.sf_account_id: p for p in found})
    wanted = person.values()
    users = {person.d2c_user_id} if person.d2c_user_id else set()
    customers: set[str] = set()
    records: set[tuple[str, str]] = set()
    for profile in profiles.values():
        for someone in profile.contacts:
            if mentions(someone.model_dump(mode="json"), wanted):
                users.update([someone.d2c_user_id] if someone.d2c_user_id else [])
                customers.update([someone.d2c_customer_id] if someone.d2c_customer_id else [])
                if someone.sf_contact_id:
                    records.add(("Contact", someone.sf_contact_id))
                if someone.sf_lead_id:
                    records.add(("Lead", someone.sf_lead_id))
    holders = set(profiles)  # accounts whose workflows may have held them (task hub step)
    for sobject in ("Contact", "Lead"):
        for row in _salesforce_people(sobject, person):
            records.add((sobject, row["Id"]))
            if row.get("D2C_User_Id__c"):
                users.add(row["D2C_User_Id__c"])
            if row.get("AccountId"):  # an account not (yet) synced has no profile to find
                holders.add(row["AccountId"])
    contacts = [contact_tombstone(key, i) for sobject, i in records if sobject == "Contact"]
    if contacts:  # an anonymised Contact keeps its id: no refresh of its Account's people may
        svc.profiles.put_tombstones(contacts, datetime.now(UTC))  # bring it back
    return {
        "accounts": sorted(profiles),
        "d2c_users": sorted(users),
        "signup_customers": sorted(customers),
        "task_hub_accounts": sorted(holders),
        "salesforce": [{"sobject": s, "id": i} for s, i in sorted(records)],
    }


def _salesforce_people(sobject: str, person: Person) -> list[dict[str, Any]]:
    conditions = []
    if person.email:
        conditions.append(format_soql("Email = {}", person.email))
    if person.d2c_user_id:
        conditions.append(format_soql("D2C_User_Id__c = {}", person.d2c_user_id))
    fields = "Id, AccountId, D2C_User_Id__c" if sobject == "Contact" else "Id, D2C_User_Id__c"
    soql = f"SELECT {fields} FROM {sobject} WHERE {' OR '.join(conditions)} LIMIT 200"
    return services().salesforce.call(lambda sf: sf.query(soql)).get("records", [])


@bp.activity_trigger(input_name="payload")
def erasure_d2c(payload: dict) -> dict[str, Any]:
    client = services().d2c
    for user_id in payload["d2c_users"]:
        client.erase_user(user_id)
    return {"users_erased": len(payload["d2c_users"])}


@bp.activity_trigger(input_name="payload")
def erasure_salesforce(payload: dict) -> dict[str, Any]:
    """Delete the Contacts/Leads, or anonymise them (ERASURE_SALESFORCE); gone is done."""
    svc = services()
    mode = svc.settings.erasure.salesforce
    done = 0
    for record in payload["records"]:
        sobject, record_id = record["sobject"], record["id"]
        try:
            if mode is SalesforceErasure.DELETE:
                svc.salesforce.call(lambda sf, s=sobject, i=record_id: getattr(sf, s).delete(i))
            else:
                fields = dict(ANONYMISED)
                if sobject == "Lead":
                    fields["Company"] = "Erased"
                svc.salesforce.update(sobject, record_id, fields)
        except NotFound:
            pass  # deleted already: nothing of theirs is left there
        done += 1
    return {"records": done, "mode": str(mode)}


@bp.activity_trigger(input_name="payload")
def erasure_profiles(payload: dict) -> dict[str, Any]:
    """Take the person out of every profile they are in (lookup entries follow the write)."""
    store = services().profiles
    wanted = _request(payload).person().values()
    removed = 0
    for account_id in payload["accounts"]:
        for _ in range(5):
            current = store.get(account_id)
            if current is None:
                break
            people = [
                p for p in current.contacts if not mentions(p.model_dump(mode="json"), wanted)
            ]
            update: dict[str, Any] = {"contacts": people}
            if mentions([current.primary_email, current.d2c_primary_user_id], wanted):
                update.update(primary_email=None, d2c_primary_user_id=None)
            try:
                store.upsert(current.model_copy(update=update), if_match=current.etag)
            except Exception as exc:
                if type(exc).__name__ != "PreconditionFailed":
                    raise
                continue
            removed += len(current.contacts) - len(people)
            break
    return {"profiles": len(payload["accounts"]), "people_removed": removed}


@bp.activity_trigger(input_name="payload")
def erasure_lake(payload: dict) -> dict[str, Any]:
    """The raw zone's batches and snapshots rewritten without them, their dead letters gone
    (the app's own, and Event Grid's: events that never reached the app)."""
    svc = services()
    person = _request(payload).person()
    result = erase_raw(svc.lake, person, svc.settings.erasure.key_bytes(), payload["accounts"])
    return {
        **result.as_dict(),
        "dead_letters_removed": erase_dead_letters(svc.lake, person),
        **erase_eventgrid_dead_letters(svc.eventgrid_deadletters, person.values()),
    }


@bp.activity_trigger(input_name="payload")
def erasure_curated(payload: dict) -> dict[str, Any]:
    """Refresh the curated tables (their rows go with the profile change), delete any row
    still naming them, then vacuum every file only older versions need (no time travel back
    to them)."""
    svc = services()
    person = _request(payload).person()
    table = ProfileTable.from_settings(svc.settings.lake)
    with ONE_AT_A_TIME:
        return _erase_curated(table, person)


def _erase_curated(table: ProfileTable, person: Person) -> dict[str, Any]:
    refreshed = table.refresh(services().profiles)
    clauses = []
    if person.email:
        quoted = person.email.strip().lower().replace("'", "''")  # a SQL string literal
        clauses.append(f"lower(email) = '{quoted}'")
    if person.d2c_user_id:  # the id's pattern has no quote
        clauses.append(f"d2c_user_id = '{person.d2c_user_id}'")
    deleted = table.people.delete_where(" OR ".join(clauses)) if clauses else 0
    vacuumed = table.vacuum(retention_hours=0)
    return {
        "people_rows_refreshed": refreshed.people,
        "rows_deleted": deleted,
        "files_vacuumed": len(vacuumed),
    }


@bp.activity_trigger(input_name="payload")
def erasure_reports(payload: dict) -> dict[str, Any]:
    """Reconciliation reports lose every mention of them."""
    store = services().profiles
    wanted = _request(payload).person().values()
    scrubbed = 0
    for report in store.list_reports(limit=1000):
        body = report.model_dump(mode="json")
        clean = scrub(body, wanted)
        if clean != body:
            store.put_report(ReconciliationReport.model_validate(clean))
            scrubbed += 1
    return {"reports_scrubbed": scrubbed}


@bp.activity_trigger(input_name="payload")
def erasure_finish(payload: dict) -> dict[str, Any]:
    """Write the receipt; on success delete the request, the last copy of who it was."""
    lake = services().lake
    receipt = ErasureReceipt.model_validate(payload["receipt"])
    save_receipt(lake, receipt)
    if receipt.outcome == "erased":
        lake.delete(request_path(receipt.request_id))
    return {"receipt": receipt_path(receipt.request_id)}


@bp.activity_trigger(input_name="payload")
def erasure_check(payload: dict) -> dict[str, Any]:
    """Is this person erased? (sign-ups, replays: nothing links or recreates them)"""
    return {"erased": bool(erased_values(payload["values"]))}
