"""A large scan's join: Accounts and their Contacts read as two Bulk API 2.0 query jobs, both
ordered by the Account's Id, merged as two sorted streams.

Bulk API 2.0 refuses parent-to-child subqueries, so the Contacts come as a job of their own
(`ORDER BY AccountId, Id`) beside the Accounts' (`ORDER BY Id`); Salesforce's docs allow ORDER
BY there ("LIMIT and ORDER BY disable PKChunking", Bulk API 2.0 Developer Guide, *Understanding
Bulk API 2.0 Query*; slower, never refused). Walking both in step needs nothing but the next
Contact, so a join of any size holds one Account's Contacts at a time, and a pause between two
Accounts is a position in the Contacts stream (see activities/reconcile_bulk_scan.py).

The order is taken to be the Ids' byte order, as the sandbox sorts them (Salesforce does not
document how Id values collate; 18-character Ids sort as their 15-character originals). A
stream found out of that order fails loudly (BULK_JOIN_ORDER) rather than mis-joining.
Plain Python, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol, get_args

from crosswalk.errors import PermanentError
from crosswalk.salesforce_records import SalesforceAccount, SalesforceContact


def _booleans(model: type[Any]) -> frozenset[str]:
    names = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if annotation is bool or bool in get_args(annotation):
            names.add(name)
    return frozenset(names)


ACCOUNT_BOOLEANS = _booleans(SalesforceAccount)
CONTACT_BOOLEANS = _booleans(SalesforceContact)


def typed(row: dict[str, Any], booleans: frozenset[str]) -> dict[str, Any]:
    """A CSV row with its booleans as JSON booleans (`true`/`false` in Bulk API 2.0 CSV);
    numbers and datetimes stay text for the models to read."""
    for name in booleans:
        value = row.get(name)
        if isinstance(value, str):
            row[name] = value == "true"
    return row


class ContactSource(Protocol):
    """The Contacts stream, one row ahead."""

    def peek(self) -> dict[str, Any] | None: ...

    def take(self) -> dict[str, Any]: ...


def out_of_order(what: str, before: str, after: str) -> PermanentError:
    return PermanentError(
        f"Bulk API query results out of Id order: {what} {after} came after {before}",
        system="salesforce",
        code="BULK_JOIN_ORDER",
    )


def with_contacts(
    accounts: Iterable[dict[str, Any]], contacts: ContactSource
) -> Iterator[dict[str, Any]]:
    """Each Account row with its `Contacts`; Contacts of Accounts outside the Accounts stream
    (changed after its job took its results) are passed over."""
    previous: str | None = None
    for account in accounts:
        account_id = str(account["Id"])
        if previous is not None and account_id <= previous:
            raise out_of_order("Account", previous, account_id)
        previous = account_id
        own: list[dict[str, Any]] = []
        while (contact := contacts.peek()) is not None and str(contact["AccountId"]) <= account_id:
            contacts.take()
            if contact["AccountId"] == account_id:
                own.append(typed(contact, CONTACT_BOOLEANS))
        account["Contacts"] = own
        yield typed(account, ACCOUNT_BOOLEANS)
