"""The support audit log as deployed to Azure (`SUPPORT_AUDIT_KIND=blob`): the real app on
devhost writes append blobs to a real Azurite, and the support API reads them back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobType, ContainerClient

from tests.support.stack import OPERATE, READ, SupportStack, support_stack

pytestmark = pytest.mark.azurite
CONTAINER = "support-audit-e2e"


@pytest.fixture(scope="module")
def blob_stack(
    tmp_path_factory: pytest.TempPathFactory, azurite_connection_string: str
) -> Iterator[SupportStack]:
    with support_stack(
        tmp_path_factory.mktemp("support-blob"),
        seed=140,
        SUPPORT_AUDIT_KIND="blob",
        SUPPORT_AUDIT_CONTAINER=CONTAINER,
        LAKE_CONNECTION_STRING=azurite_connection_string,
    ) as running:
        yield running


def test_support_actions_are_audited_in_append_blobs_and_read_back(
    blob_stack: SupportStack, azurite_connection_string: str
) -> None:
    account = next(blob_stack.plain)
    instance_id = f"onboard-{account['Id']}-20261127T000000"
    for reason in ("first try", "second try"):
        refused = blob_stack.post(f"instances/{instance_id}/retry", {"reason": reason}, OPERATE)
        assert refused.status == 404

    mine = blob_stack.get(f"audit?target={account['Id']}", READ).json()["items"]
    newest = blob_stack.get("audit?limit=1", READ).json()

    assert [(e["reason"], e["outcome"]) for e in mine] == [
        ("second try", "refused: not_found"),
        ("first try", "refused: not_found"),
    ]
    assert mine[0]["actor"] == "kim@support.example" and mine[0]["action"] == "retry"
    assert newest["items"][0]["id"] == mine[0]["id"]
    with ContainerClient.from_connection_string(azurite_connection_string, CONTAINER) as c:
        blobs = list(c.list_blobs())
    assert {b.blob_type for b in blobs} == {BlobType.APPENDBLOB}
    assert {b.name.split("/", 1)[0] for b in blobs} == {"days", "targets"}
