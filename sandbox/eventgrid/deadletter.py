"""Where the Event Grid stand-in writes dead letters, as Event Grid writes them to Blob Storage.

Event Grid's "Set dead-letter location and retry policy" page (MicrosoftDocs/azure-docs
`articles/event-grid/manage-event-delivery.md`): one blob per dead-lettered delivery in the
subscription's container, named `<SUBSCRIPTION NAME IN UPPER CASE>/<yyyy>/<M>/<d>/<H>/<guid>.json`
(date and hour in UTC, not zero-padded), holding a JSON array of events. "Message delivery and
retry" (`delivery-and-retry.md`): each event is the event as published (CloudEvents 1.0 here)
with `deadletterreason`, `deliveryattempts`, `lastdeliveryoutcome` and `publishtime` added
(its Event Grid schema example also has `lastDeliveryAttemptTime`; `lasthttpstatuscode` is
what people report seeing, not in Microsoft's text). The container must exist: Event Grid does
not create it, and a write that fails is retried (docs: dropped after four hours).

Two destinations: a folder standing in for the container, or a real container (Azurite) through
azure-storage-blob's `ContainerClient`.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

DEAD_LETTER_PROPERTIES = (
    "deadletterreason",
    "deliveryattempts",
    "lastdeliveryoutcome",
    "lasthttpstatuscode",
    "publishtime",
    "lastdeliveryattempttime",
)


class Unavailable(Exception):
    """The dead-letter location could not take the blob now (retried, later dropped)."""


class DeadLetterDestination(Protocol):
    def write(self, name: str, data: bytes) -> str:
        """Store one blob under `name`; returns where it went. Raises `Unavailable`."""
        ...


def blob_name(subscription: str, at: datetime, guid: uuid.UUID | None = None) -> str:
    """`<SUBSCRIPTION>/<yyyy>/<M>/<d>/<H>/<guid>.json`, the subscription upper-cased (so case
    handling of other services cannot split it), the time in UTC without zero padding."""
    moment = at.astimezone(UTC)
    guid = guid or uuid.uuid4()
    return (
        f"{subscription.upper()}/{moment.year}/{moment.month}/{moment.day}/{moment.hour}/"
        f"{guid}.json"
    )


def dead_letter_body(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(events, separators=(",", ":")).encode()


class FolderDestination:
    """A folder standing in for the container; like a container it must exist already."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def write(self, name: str, data: bytes) -> str:
        if not self.root.is_dir():
            raise Unavailable(f"no container folder {self.root}")
        target = self.root.joinpath(*name.split("/"))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except OSError as exc:
            raise Unavailable(f"{target}: {exc.strerror or exc}") from None
        return target.as_uri()


class BlobDestination:
    """A Blob container (Azurite here) through azure-storage-blob's ContainerClient."""

    def __init__(self, container_client: Any) -> None:
        self.container = container_client

    def write(self, name: str, data: bytes) -> str:
        from azure.core.exceptions import AzureError
        from azure.storage.blob import ContentSettings

        blob = self.container.get_blob_client(name)
        try:
            blob.upload_blob(
                data,
                overwrite=False,
                content_settings=ContentSettings(content_type="application/json"),
            )
        except AzureError as exc:
            raise Unavailable(f"{name}: {type(exc).__name__}") from None
        return str(blob.url)
