"""Create, update, upsert, delete and undelete: validation first, then one ``Txn.put`` per row."""

from __future__ import annotations

from typing import Any

from ..clock import Clock, sf_datetime, sf_stamp
from .errors import SfError, converted_lead, entity_deleted, not_found
from .ids import IdFactory, to18
from .rules import OrgRules, apply_addresses, check_picklists, duplicates
from .sobject import SObjectType
from .store import Change, Record, Store, Txn
from .validate import check_required, clean_input

RECYCLE_BIN_MS = 15 * 24 * 3600 * 1000
_NAMED = {"Contact", "Lead", "User"}  # Name derived from FirstName + LastName


def _derive(sobject: SObjectType, rec: Record) -> None:
    if sobject.name in _NAMED:
        name = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p)
        if name:
            rec["Name"] = name
        else:
            rec.pop("Name", None)


class Dml:
    """Data changes of one org, shared by the REST handlers and the control-path helpers."""

    def __init__(self, store: Store, ids: IdFactory, clock: Clock) -> None:
        self.store = store
        self.ids = ids
        self.clock = clock
        # rows another transaction holds: Id -> writes still refused with UNABLE_TO_LOCK_ROW
        self.held: dict[str, int] = {}
        self.rules = OrgRules()
        self.recycle_bin: list[tuple[str, str, str]] = []  # (deleted at, sobject, Id), in order

    def purge_recycle_bin(self) -> None:
        """ "Records are placed in the Recycle Bin for 15 days, after which they are
        permanently deleted" (Apex Developer Guide, Restoring Deleted Records): after that
        queryAll no longer finds them. The caller holds the store lock."""
        cutoff = sf_datetime(self.clock.now_ms() - RECYCLE_BIN_MS)
        kept = 0
        for stamp, name, rid in self.recycle_bin:
            if stamp >= cutoff:
                break
            kept += 1
            row = self.store.table(name).rows.get(rid)
            if row is not None and row.get("IsDeleted") and row["SystemModstamp"] == stamp:
                self.store.put(name, rid, None)
        del self.recycle_bin[:kept]

    def _org_rules(self, txn: Txn, sobject: SObjectType, values: Record, rec: Record) -> None:
        """The org's own settings on the record as it will be stored (rules.py)."""
        check_picklists(sobject, values, self.rules)
        apply_addresses(sobject, values, rec, self.rules)
        rows = self.store.table(sobject.name).rows.values()
        duplicates(sobject, rec, rows, self.rules, txn.actor.allow_save)

    def _take_lock(self, rid: str) -> None:
        """A row held elsewhere refuses the write: 'unable to obtain exclusive access to this
        record' (StatusCode UNABLE_TO_LOCK_ROW), per record, worth a retry."""
        left = self.held.get(rid, 0)
        if left <= 0:
            return
        if left == 1:
            del self.held[rid]
        else:
            self.held[rid] = left - 1
        raise SfError(
            400,
            "UNABLE_TO_LOCK_ROW",
            f"unable to obtain exclusive access to this record or 1 records: {rid}",
            [],
        )

    def _exists(self, sobject: str, rid: str) -> str | None:
        return self.store.state(sobject, rid)

    def _check_unique(self, sobject: SObjectType, rec: Record, rid: str) -> None:
        for fname in sobject.unique_fields:
            value = rec.get(fname)
            if value is None:
                continue
            other = self.store.find_unique(sobject.name, fname, value)
            if other is not None and other != rid:
                raise SfError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {fname} duplicates value on record with id: {other}",
                    [],
                )

    def writable(self, sobject: SObjectType) -> None:
        if not sobject.createable:
            raise SfError(
                400,
                "INVALID_TYPE_FOR_OPERATION",
                f"entity type {sobject.name} does not support this operation",
            )

    def create(self, txn: Txn, sobject: SObjectType, body: Any) -> str:
        self.writable(sobject)
        values = clean_input(sobject, body, creating=True, exists=self._exists)
        rid = self.ids.new(sobject.key_prefix)
        now = self._stamp(self.clock.now_ms())
        user = txn.actor.user_id
        rec: Record = {"Id": rid, "IsDeleted": False}
        for f in sobject.fields.values():
            if f.default is not None:
                rec[f.name] = f.default
            elif f.type == "boolean":
                rec[f.name] = False
        for k, v in values.items():
            if v is None:
                rec.pop(k, None)
            else:
                rec[k] = v
        if "OwnerId" in sobject.fields and rec.get("OwnerId") is None:
            rec["OwnerId"] = user
        rec["CreatedDate"] = rec["LastModifiedDate"] = rec["SystemModstamp"] = now
        rec["CreatedById"] = rec["LastModifiedById"] = user
        self._org_rules(txn, sobject, values, rec)
        _derive(sobject, rec)
        check_required(sobject, rec)
        self._check_unique(sobject, rec, rid)
        txn.put(sobject.name, rid, rec)
        txn.record(Change(sobject.name, rid, "CREATE", rec))
        return rid

    def _stamp(self, ms: int) -> str:
        """An audit stamp: whole seconds when the org plays Salesforce's rule for them."""
        return sf_stamp(ms) if self.rules.whole_second_stamps else sf_datetime(ms)

    def row(self, sobject: SObjectType, record_id: str, *, allow_deleted: bool = False) -> Record:
        rid = to18(record_id)
        if rid is None or rid[:3] != sobject.key_prefix:
            raise SfError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {record_id}",
            )
        row = self.store.table(sobject.name).rows.get(rid)
        if row is None:
            raise not_found()
        if row.get("IsDeleted") and not allow_deleted:
            raise entity_deleted()
        return row

    def update(self, txn: Txn, sobject: SObjectType, record_id: str, body: Any) -> str:
        self.writable(sobject)
        row = self.row(sobject, record_id)
        if row.get("IsConverted"):
            raise converted_lead()
        values = clean_input(sobject, body, creating=False, exists=self._exists)
        new = dict(row)
        for k, v in values.items():
            if v is None:
                new.pop(k, None)
            else:
                new[k] = v
        self._org_rules(txn, sobject, values, new)
        _derive(sobject, new)
        check_required(sobject, new)
        rid = row["Id"]
        self._take_lock(rid)
        self._check_unique(sobject, new, rid)
        changed = [k for k in sobject.fields if row.get(k) != new.get(k)]
        now = self._stamp(self.clock.now_ms())
        user = txn.actor.user_id
        if row.get("LastModifiedById") != user:
            changed.append("LastModifiedById")
        changed.append("LastModifiedDate")
        new["LastModifiedDate"] = new["SystemModstamp"] = now
        new["LastModifiedById"] = user
        txn.put(sobject.name, rid, new)
        txn.record(Change(sobject.name, rid, "UPDATE", new, changed))
        return rid

    def matches(self, sobject: SObjectType, fname: str, value: str) -> list[str]:
        """Live rows whose external-id field equals ``value`` (case-insensitive)."""
        field = sobject.fields[fname]
        if field.type == "id":
            rid = to18(value)
            return [rid] if rid and self.store.table(sobject.name).live(rid) else []
        if field.unique:
            hit = self.store.find_unique(sobject.name, fname, value)
            return [hit] if hit else []
        low = value.lower()
        return [
            r["Id"]
            for r in self.store.table(sobject.name).rows.values()
            if not r.get("IsDeleted") and (r.get(fname) or "").lower() == low
        ]

    def external_field(self, sobject: SObjectType, fname: str) -> str:
        field = sobject.external_ids.get(fname.lower())
        if field is None:
            raise SfError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {fname}",
            )
        return field.name

    def upsert(
        self,
        txn: Txn,
        sobject: SObjectType,
        fname: str,
        value: str,
        body: Any,
        *,
        update_only: bool,
    ) -> tuple[str, bool] | list[str]:
        """``(id, created)``; a list of Ids when several rows match (the 300 answer)."""
        self.writable(sobject)
        fname = self.external_field(sobject, fname)
        if isinstance(body, dict):
            for key, given in body.items():
                if key.lower() == fname.lower() and given is not None and str(given) != value:
                    raise SfError(
                        400,
                        "INVALID_FIELD",
                        f"Field {fname} in the request body does not match the value in the URL",
                        [fname],
                    )
        found = self.matches(sobject, fname, value)
        if len(found) > 1:
            return found
        if found:
            return self.update(txn, sobject, found[0], body), False
        if update_only or fname == "Id":
            raise not_found()
        merged = {k: v for k, v in (body or {}).items() if k.lower() != fname.lower()}
        merged[fname] = value
        return self.create(txn, sobject, merged), True

    def delete(self, txn: Txn, sobject: SObjectType, record_id: str) -> str:
        self.writable(sobject)
        row = self.row(sobject, record_id)
        self._take_lock(row["Id"])
        now = self._stamp(self.clock.now_ms())
        self._mark_deleted(txn, sobject, row, now)
        if sobject.name == "Account":  # contacts go to the recycle bin with their account
            for cid in self.store.child_ids("Contact", "AccountId", row["Id"]):
                child = self.store.table("Contact").live(cid)
                if child is not None:
                    self._mark_deleted(txn, self._type("Contact"), child, now)
        return row["Id"]

    def _type(self, name: str) -> SObjectType:
        return self.store.table(name).type

    def _mark_deleted(self, txn: Txn, sobject: SObjectType, row: Record, now: str) -> None:
        new = dict(row)
        new["IsDeleted"] = True
        new["LastModifiedDate"] = new["SystemModstamp"] = now
        new["LastModifiedById"] = txn.actor.user_id
        txn.put(sobject.name, row["Id"], new)
        txn.record(Change(sobject.name, row["Id"], "DELETE", new))
        self.recycle_bin.append((now, sobject.name, row["Id"]))

    def undelete(self, txn: Txn, sobject: SObjectType, record_id: str) -> str:
        self.writable(sobject)
        row = self.row(sobject, record_id, allow_deleted=True)
        if not row.get("IsDeleted"):
            raise SfError(400, "UNDELETE_FAILED", "Entity is not in the recycle bin", [])
        stamp = row["SystemModstamp"]
        now = self._stamp(self.clock.now_ms())
        self._restore(txn, sobject, row, now)
        if sobject.name == "Account":
            for cid in self.store.child_ids("Contact", "AccountId", row["Id"]):
                child = self.store.table("Contact").rows.get(cid)
                if (
                    child is not None
                    and child.get("IsDeleted")
                    and child["SystemModstamp"] == stamp
                ):
                    self._restore(txn, self._type("Contact"), child, now)
        return row["Id"]

    def convert_lead(self, txn: Txn, record_id: str, account_id: str | None = None) -> Record:
        """Convert a Lead as a person does: into a Contact under `account_id`, or under a new
        Account named after the Lead's company. The Lead stays as read-only history pointing at
        both (`ConvertedAccountId`, `ConvertedContactId`). Opportunities and admin-defined
        Lead field mappings are not modelled: custom fields stay on the Lead.
        """
        lead = self._type("Lead")
        row = self.row(lead, record_id)
        if row.get("IsConverted"):
            raise converted_lead()
        if account_id is None:
            account_id = self.create(txn, self._type("Account"), {"Name": row["Company"]})
        person = {k: row.get(k) for k in ("FirstName", "LastName", "Email", "Phone")}
        contact_id = self.create(txn, self._type("Contact"), {**person, "AccountId": account_id})
        now = self.clock.now_ms()
        new = {
            **row,
            "IsConverted": True,
            "Status": "Closed - Converted",
            "ConvertedDate": sf_datetime(now)[:10],
            "ConvertedAccountId": to18(account_id),
            "ConvertedContactId": contact_id,
        }
        new["LastModifiedDate"] = new["SystemModstamp"] = self._stamp(now)
        new["LastModifiedById"] = txn.actor.user_id
        changed = ["IsConverted", "Status", "ConvertedDate", "ConvertedAccountId"]
        txn.put(lead.name, row["Id"], new)
        txn.record(Change(lead.name, row["Id"], "UPDATE", new, [*changed, "ConvertedContactId"]))
        return new

    def _restore(self, txn: Txn, sobject: SObjectType, row: Record, now: str) -> None:
        new = dict(row)
        new["IsDeleted"] = False
        new["LastModifiedDate"] = new["SystemModstamp"] = now
        new["LastModifiedById"] = txn.actor.user_id
        self._check_unique(sobject, new, row["Id"])
        txn.put(sobject.name, row["Id"], new)
        txn.record(Change(sobject.name, row["Id"], "UNDELETE", new))
