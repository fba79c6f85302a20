"""BlobLake specifics against real Azurite, and how SDK failures map onto the taxonomy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.storage.blob import ContainerClient

from crosswalk.errors import (
    AuthenticationFailed,
    ConfigurationError,
    Conflict,
    InvalidData,
    NotFound,
    PermanentError,
    RateLimited,
    TransientError,
)
from crosswalk.lake import open_lake
from crosswalk.lake.blob import BlobLake, lake_error, redact
from crosswalk.settings import LakeKind, LakeSettings
from tests.azurite import DEV_KEY, azurite_executable, connection_string, free_port

pytestmark = pytest.mark.azurite


@pytest.fixture
def container_name() -> str:
    return f"lake-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def blob_lake(azurite_connection_string: str, container_name: str) -> Iterator[BlobLake]:
    lake = BlobLake.from_connection_string(azurite_connection_string, container_name)
    yield lake
    lake.close()


def test_the_first_write_creates_the_missing_container(
    blob_lake: BlobLake, azurite_connection_string: str, container_name: str
) -> None:
    blob_lake.put_json("raw/a.json", {"x": 1})

    with ContainerClient.from_connection_string(azurite_connection_string, container_name) as c:
        assert c.exists()


def test_put_json_stores_application_json_and_returns_the_blob_url(
    blob_lake: BlobLake, azurite_connection_string: str, container_name: str
) -> None:
    uri = blob_lake.put_json("raw/a/1.json", {"x": 1})

    assert uri.endswith(f"/{container_name}/raw/a/1.json")
    with ContainerClient.from_connection_string(azurite_connection_string, container_name) as c:
        properties = c.get_blob_client("raw/a/1.json").get_blob_properties()
    assert properties.content_settings.content_type == "application/json"


def test_reads_before_any_write_see_an_empty_lake(blob_lake: BlobLake) -> None:
    assert blob_lake.list("") == []
    assert blob_lake.exists("raw/a.json") is False
    assert blob_lake.delete("raw/a.json") is False
    with pytest.raises(NotFound):
        blob_lake.get_json("raw/a.json")


def test_a_lake_pointed_at_a_closed_port_raises_transient_without_the_key() -> None:
    lake = BlobLake.from_connection_string(
        connection_string(free_port()), "lake-closed", retry_total=0, connection_timeout=2
    )

    with pytest.raises(TransientError) as caught:
        lake.put_json("raw/a.json", {"x": 1})
    lake.close()

    assert caught.value.system == "lake"
    assert DEV_KEY not in str(caught.value)
    assert DEV_KEY[:20] not in str(caught.value)


def test_a_malformed_connection_string_is_a_configuration_error_that_hides_it() -> None:
    secret = "AccountKey=c2VjcmV0LXZhbHVl;NotAValidConnectionString"

    with pytest.raises(ConfigurationError) as caught:
        BlobLake.from_connection_string(secret, "lake")

    assert "c2VjcmV0" not in str(caught.value)


def test_open_lake_builds_a_blob_lake_from_settings(azurite_connection_string: str) -> None:
    settings = LakeSettings.model_validate(
        {
            "kind": LakeKind.BLOB,
            "connection_string": azurite_connection_string,
            "container": f"lake-{uuid.uuid4().hex[:12]}",
        }
    )

    lake = open_lake(settings)
    lake.put_json("raw/a.json", {"x": 1})

    assert isinstance(lake, BlobLake)
    assert lake.get_json("raw/a.json") == {"x": 1}
    lake.close()


# ---------------------------------------------------------------- error mapping (no I/O)


def _http_error(status: int, code: str, headers: dict[str, str] | None = None) -> HttpResponseError:
    error = HttpResponseError(message=f"status {status}")
    error.status_code = status
    setattr(error, "error_code", code)  # noqa: B010 - the SDK sets it dynamically too
    setattr(error, "response", SimpleNamespace(headers=headers or {}))  # noqa: B010
    return error


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, TransientError),
        (503, TransientError),
        (408, TransientError),
        (409, Conflict),
        (403, AuthenticationFailed),
        (400, InvalidData),
        (405, PermanentError),
    ],
)
def test_http_failures_map_by_status(status: int, expected: type[Exception]) -> None:
    mapped = lake_error(_http_error(status, "Code"), "write", "raw/a.json")

    assert type(mapped) is expected
    assert mapped.status == status and mapped.system == "lake"


def test_429_is_rate_limited_with_the_retry_after_header() -> None:
    mapped = lake_error(_http_error(429, "TooManyRequests", {"Retry-After": "7"}), "write", "p")

    assert isinstance(mapped, RateLimited)
    assert mapped.retry_after == 7.0


def test_network_failures_are_transient_and_a_missing_blob_is_not_found() -> None:
    assert isinstance(lake_error(ServiceRequestError("refused"), "read", "p"), TransientError)
    missing = ResourceNotFoundError(message="gone")
    missing.status_code = 404
    assert isinstance(lake_error(missing, "read", "p"), NotFound)


def test_a_refused_credential_is_authentication_failed() -> None:
    error = ClientAuthenticationError(message="no managed identity")

    assert isinstance(lake_error(error, "read", "p"), AuthenticationFailed)


def test_redact_removes_sas_tokens_and_account_keys() -> None:
    text = "GET https://a.blob.core.windows.net/c/b?sv=2024&sig=SECRET failed; AccountKey=KEY1;x"

    cleaned = redact(text)

    assert "SECRET" not in cleaned and "KEY1" not in cleaned


def test_a_missing_azurite_fails_the_suite_with_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="npm install"):
        azurite_executable(tmp_path / "node_modules" / ".bin" / "azurite-blob")
