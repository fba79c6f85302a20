"""The Bulk scan's join: two streams ordered by the Account's Id, merged row by row."""

from __future__ import annotations

from typing import Any

import pytest

from crosswalk.errors import PermanentError
from crosswalk.reconcile_join import with_contacts
from crosswalk.salesforce_records import SalesforceAccount


class Contacts:
    """A list as the Contacts stream (the real one reads results sets over HTTP)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.taken = 0

    def peek(self) -> dict[str, Any] | None:
        return self.rows[self.taken] if self.taken < len(self.rows) else None

    def take(self) -> dict[str, Any]:
        self.taken += 1
        return self.rows[self.taken - 1]


def _ids(prefix: str, letters: str) -> dict[str, str]:
    """15-character Ids whose byte order is the letters' order."""
    return {x: f"{prefix}dL0000000{ord(x):03d}" for x in letters}


A = _ids("001", "ABCDEF")
C = _ids("003", "abcde")


def _account(account_id: str) -> dict[str, Any]:
    return {
        "Id": account_id,
        "Name": f"Account {account_id}",
        "IsDeleted": "false",
        "Marketing_Consent__c": "true",
        "AnnualRevenue": "1500000",
        "SystemModstamp": "2024-01-02T03:04:05.000Z",
    }


def _contact(contact_id: str, account_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "Id": contact_id,
        "AccountId": account_id,
        "LastName": "Doe",
        "IsDeleted": "false",
        **extra,
    }


def test_each_account_gets_its_own_contacts_and_others_are_passed_over():
    accounts = [_account(A["A"]), _account(A["C"]), _account(A["E"])]
    contacts = Contacts(
        [
            _contact(C["a"], A["A"]),
            _contact(C["b"], A["A"]),
            _contact(C["c"], A["B"]),  # its Account changed after the Accounts job: not here
            _contact(C["d"], A["E"], Primary_Contact__c="true"),
            _contact(C["e"], A["F"]),  # after the last Account: left for the next split
        ]
    )

    joined = [SalesforceAccount.model_validate(a) for a in with_contacts(accounts, contacts)]

    assert [[c.Id[:15] for c in a.Contacts] for a in joined] == [[C["a"], C["b"]], [], [C["d"]]]
    assert joined[2].Contacts[0].Primary_Contact__c is True
    assert joined[0].Marketing_Consent__c is True and joined[0].IsDeleted is False
    assert joined[0].AnnualRevenue == 1_500_000
    assert contacts.peek() == _contact(C["e"], A["F"])


def test_a_deleted_contact_in_the_results_is_left_out_of_its_account():
    contacts = Contacts([_contact(C["a"], A["A"], IsDeleted="true"), _contact(C["b"], A["A"])])

    (joined,) = [
        SalesforceAccount.model_validate(a) for a in with_contacts([_account(A["A"])], contacts)
    ]

    assert [c.Id[:15] for c in joined.Contacts] == [C["b"]]


def test_accounts_out_of_id_order_fail_loudly_rather_than_mis_join():
    with pytest.raises(PermanentError) as refused:
        list(with_contacts([_account(A["C"]), _account(A["A"])], Contacts([])))

    assert refused.value.code == "BULK_JOIN_ORDER"
