"""Field ownership: whose value wins for each mapped field, and what each side must be told.

Crosswalk never writes a field to the system that owns it: Salesforce-owned values go to D2C,
D2C-owned values go to Salesforce. So two writes can never chase each other around, and the
only question per field is "does the other system already hold the owner's value?".

`plan_sync` answers it from what one run knows: the *agreed* values (what both systems held
after the last run, kept in the record's entity), and fresh values from either side when the
run has them (a Salesforce read, a D2C event's customer or a re-read after a 412). A side the
run did not look at is taken to still hold the agreed values. Pure and deterministic, so the
orchestrator calls it during replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crosswalk.field_mapping import DERIVED_FIELDS, MAPPED_FIELDS, AccountFields, account_values
from crosswalk.settings import FieldOwnershipSettings, System

SYNCED_FIELDS = (*MAPPED_FIELDS, *DERIVED_FIELDS)
_MISSING: Any = object()


def owner_of(name: str, ownership: FieldOwnershipSettings) -> System:
    """The system whose value of `name` wins; derived fields follow their source field."""
    return System(getattr(ownership, DERIVED_FIELDS.get(name, name)))


def owned_by(system: System, ownership: FieldOwnershipSettings) -> set[str]:
    return {name for name in SYNCED_FIELDS if owner_of(name, ownership) is system}


@dataclass(slots=True)
class SyncPlan:
    """What one run must write so that both systems hold the owner's value of every field."""

    agreed: dict[str, Any]
    d2c_patch: dict[str, Any] = field(default_factory=dict)
    account_patch: dict[str, Any] = field(default_factory=dict)
    propagated: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return bool(self.d2c_patch or self.account_patch)


def plan_sync(
    *,
    agreed: dict[str, Any] | None,
    ownership: FieldOwnershipSettings,
    restore: bool,
    salesforce: AccountFields | None = None,
    salesforce_touched: set[str] | frozenset[str] = frozenset(),
    d2c: dict[str, Any] | None = None,
) -> SyncPlan:
    """Compare each side with the agreed values and the owner's; say what to write where.

    `salesforce` is a fresh read of the Account (mapped); `salesforce_touched` names fields a
    change event says Salesforce changed without the run reading them; `d2c` is a fresh
    customer (`customer_values`). An edit by the non-owner is ignored (listed in `ignored`)
    and, when `restore` is set, overwritten with the owner's value.
    """
    before = agreed or {}
    plan = SyncPlan(agreed=dict(before))
    if salesforce is not None:
        for name, problems in sorted(salesforce.problems.items()):
            plan.problems.extend(f"{name}: {p}" for p in problems)
    for name in SYNCED_FIELDS:
        owner = owner_of(name, ownership)
        sf_value = salesforce.values.get(name, _MISSING) if salesforce is not None else _MISSING
        d2c_value = d2c.get(name, _MISSING) if d2c is not None else _MISSING
        by_salesforce = owner is System.SALESFORCE
        ours, theirs = (sf_value, d2c_value) if by_salesforce else (d2c_value, sf_value)
        owner_value = ours if ours is not _MISSING else before.get(name, _MISSING)
        if owner_value is _MISSING:
            continue  # nobody has told us this field's value yet
        known = name in before
        other_touched = owner is System.D2C and name in salesforce_touched
        if theirs is not _MISSING:
            other_value, other_changed = theirs, known and theirs != before[name]
        elif other_touched:
            other_value, other_changed = _MISSING, True
        else:
            other_value, other_changed = before.get(name, _MISSING), False
        owner_changed = known and owner_value != before[name]
        plan.agreed[name] = owner_value
        differs = other_value is _MISSING or other_value != owner_value
        write = differs and (not known or owner_changed or not other_changed or restore)
        other = System.D2C if by_salesforce else System.SALESFORCE
        if owner_changed:
            plan.propagated.append(f"{name}: {owner} -> {other}")
        elif not known and write:
            plan.propagated.append(f"{name}: {owner} -> {other} (aligned on first update)")
        if other_changed:
            what = "restored" if write else "not restored (SYNC_RESTORE_OWNER_VALUES=false)"
            plan.ignored.append(f"{other} edit of {name} ignored: owned by {owner}; {what}")
        if not write:
            continue
        if by_salesforce:
            plan.d2c_patch[name] = owner_value
        else:
            plan.account_patch.update(account_values(name, owner_value))
    return plan
