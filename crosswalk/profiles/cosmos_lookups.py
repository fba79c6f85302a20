"""Cosmos DB lookup entries (`<kind>:<sha256>` -> Account ids): read-modify-write with the
entry's etag, so two writers adding or removing Accounts of one entry never lose each
other's change (the loser reads again)."""

from __future__ import annotations

from typing import Any

from azure.core import MatchConditions
from azure.cosmos import ContainerProxy
from azure.cosmos.exceptions import CosmosHttpResponseError

from crosswalk.errors import TransientError
from crosswalk.profiles.base import SYSTEM

ATTEMPTS = 10  # read-modify-write rounds on one entry before calling it busy


def read_document(container: ContainerProxy, entry: str) -> dict[str, Any] | None:
    try:
        return container.read_item(item=entry, partition_key=entry)
    except CosmosHttpResponseError as exc:
        if exc.status_code == 404:
            return None
        raise


def add(container: ContainerProxy, entry: str, account: str) -> bool:
    """Name `account` in the entry (created when missing); True when it changed."""
    for _ in range(ATTEMPTS):
        document = read_document(container, entry)
        try:
            if document is None:
                body = {"id": entry, "sf_account_id": entry, "type": "lookup"}
                container.create_item({**body, "accounts": [account]})
                return True
            if account in document["accounts"]:
                return False
            document["accounts"] = sorted({*document["accounts"], account})
            container.replace_item(
                item=entry,
                body=document,
                etag=document["_etag"],
                match_condition=MatchConditions.IfNotModified,
            )
            return True
        except CosmosHttpResponseError as exc:
            if exc.status_code not in (409, 412):  # lost a race: read again
                raise
    raise TransientError(f"lookup entry kept changing: {entry}", system=SYSTEM, code="busy")


def remove(container: ContainerProxy, entry: str, account: str) -> bool:
    """Take `account` out of the entry (deleted when it names nobody); True when it changed."""
    for _ in range(ATTEMPTS):
        document = read_document(container, entry)
        if document is None or account not in document["accounts"]:
            return False
        rest = [a for a in document["accounts"] if a != account]
        condition = {
            "etag": document["_etag"],
            "match_condition": MatchConditions.IfNotModified,
        }
        try:
            if rest:
                container.replace_item(item=entry, body={**document, "accounts": rest}, **condition)
            else:
                container.delete_item(item=entry, partition_key=entry, **condition)
            return True
        except CosmosHttpResponseError as exc:
            if exc.status_code not in (404, 412):
                raise
    raise TransientError(f"lookup entry kept changing: {entry}", system=SYSTEM, code="busy")
