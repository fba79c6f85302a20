"""The lake in Azure: a Blob Storage (or ADLS Gen2) container, via `azure-storage-blob`.

Every SDK failure is sorted into the taxonomy here: network failures, 408/429/5xx are
transient, a missing blob is `NotFound`, other 4xx are permanent. Error texts never carry the
connection string, account key or SAS: the SDK's own messages can include request URLs, so
they are redacted before they reach an exception (and from there, logs and Durable history).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import ContainerClient, ContentSettings

from crosswalk.errors import (
    AuthenticationFailed,
    ConfigurationError,
    IntegrationError,
    NotFound,
    PreconditionFailed,
    TransientError,
    error_for_status,
)
from crosswalk.lake.base import SYSTEM, check_path, check_prefix, decode, encode
from crosswalk.settings import LakeSettings
from crosswalk.telemetry.azure_calls import hooks

_JSON = ContentSettings(content_type="application/json")
_SECRETS = [
    (re.compile(r"\?[^\s'\"]*"), "?<redacted>"),  # SAS tokens ride in query strings
    (re.compile(r"(AccountKey|SharedAccessSignature|sig)=[^;&\s'\"]*", re.I), r"\1=<redacted>"),
]


def redact(text: str) -> str:
    """Strip anything that could be a credential from an SDK message."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text[:300]


def _retry_after(exc: HttpResponseError) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value else None
    except ValueError:
        return None


def lake_error(exc: AzureError, action: str, path: str) -> IntegrationError:
    """Translate an `azure.core` exception raised while doing `action` on `path`."""
    text = str(getattr(exc, "message", None) or exc)
    first_line = redact(text.splitlines()[0]) if text.strip() else ""
    detail = f"{action} {path}: {type(exc).__name__}: {first_line}".rstrip(": ")
    error_code = getattr(exc, "error_code", None)
    code = str(error_code) if error_code else None
    if isinstance(exc, ResourceNotFoundError):
        return NotFound(detail, system=SYSTEM, status=404, code=code)
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        return error_for_status(
            SYSTEM,
            exc.status_code,
            detail,
            code=code,
            retry_after=_retry_after(exc),
        )
    if isinstance(exc, ClientAuthenticationError):
        return AuthenticationFailed(detail, system=SYSTEM, code="CREDENTIAL")
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return TransientError(detail, system=SYSTEM, code="NETWORK")
    return TransientError(detail, system=SYSTEM)


def container_from_connection_string(
    connection_string: str,
    container: str,
    *,
    retry_total: int = 3,
    connection_timeout: float = 10,
    read_timeout: float = 30,
) -> ContainerClient:
    """A container client from a storage connection string (Azurite, or a Key Vault reference)."""
    try:
        return ContainerClient.from_connection_string(
            connection_string,
            container,
            retry_total=retry_total,
            connection_timeout=connection_timeout,
            read_timeout=read_timeout,
            **hooks("blob"),
        )
    except (ValueError, AzureError):
        # The SDK's message may quote the string; ours must not.
        raise ConfigurationError("LAKE_CONNECTION_STRING: malformed connection string") from None


def container_from_account_url(
    account_url: str,
    container: str,
    *,
    credential: Any = None,
    retry_total: int = 3,
    connection_timeout: float = 10,
    read_timeout: float = 30,
) -> tuple[ContainerClient, Any]:
    """A container client from `https://<account>.blob.core.windows.net` and Entra ID.

    With no `credential`, `DefaultAzureCredential` (managed identity in Azure, the developer's
    login locally) is built here and returned second, for the caller to close.
    """
    owned = None
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = owned = DefaultAzureCredential()
    client = ContainerClient(
        account_url,
        container,
        credential=credential,
        retry_total=retry_total,
        connection_timeout=connection_timeout,
        read_timeout=read_timeout,
        **hooks("blob"),
    )
    return client, owned


def open_container(settings: LakeSettings, container: str) -> tuple[ContainerClient, Any]:
    """A container on the lake's storage account, and the credential the caller must close."""
    if settings.connection_string is not None:
        secret = settings.connection_string.get_secret_value()
        return container_from_connection_string(secret, container), None
    if settings.account_url is not None:
        return container_from_account_url(str(settings.account_url), container)
    raise ConfigurationError("LAKE_CONNECTION_STRING: or LAKE_ACCOUNT_URL is required")


class BlobLake:
    """`Lake` over one Blob container; the container is created on the first write if missing."""

    def __init__(self, container_client: ContainerClient, *, credential: Any = None) -> None:
        self._container = container_client
        self._credential = credential  # closed with the lake when we created it

    @classmethod
    def from_connection_string(
        cls, connection_string: str, container: str, **options: Any
    ) -> BlobLake:
        return cls(container_from_connection_string(connection_string, container, **options))

    @classmethod
    def from_settings(cls, settings: LakeSettings) -> BlobLake:
        client, credential = open_container(settings, settings.container)
        return cls(client, credential=credential)

    def put_json(self, path: str, document: Mapping[str, Any]) -> str:
        return self.put_bytes(path, encode(document), content_type="application/json")

    def put_bytes(self, path: str, data: bytes, *, content_type: str) -> str:
        blob = self._container.get_blob_client(check_path(path))
        settings = _JSON if content_type == "application/json" else ContentSettings(content_type)
        try:
            try:
                blob.upload_blob(data, overwrite=True, content_settings=settings)
            except ResourceNotFoundError as exc:
                if getattr(exc, "error_code", None) != "ContainerNotFound":
                    raise
                self._create_container()
                blob.upload_blob(data, overwrite=True, content_settings=settings)
        except AzureError as exc:
            raise lake_error(exc, "write", path) from exc
        return str(blob.url)

    def _create_container(self) -> None:
        with contextlib.suppress(ResourceExistsError):  # another writer created it first
            self._container.create_container()

    def get_json(self, path: str) -> dict[str, Any]:
        return decode(self.get_bytes(path), path)

    def get_bytes(self, path: str) -> bytes:
        blob = self._container.get_blob_client(check_path(path))
        try:
            return bytes(blob.download_blob().readall())
        except AzureError as exc:
            raise lake_error(exc, "read", path) from exc

    def exists(self, path: str) -> bool:
        blob = self._container.get_blob_client(check_path(path))
        try:
            return bool(blob.exists())
        except AzureError as exc:
            raise lake_error(exc, "check", path) from exc

    def delete(self, path: str) -> bool:
        blob = self._container.get_blob_client(check_path(path))
        try:
            blob.delete_blob()
        except ResourceNotFoundError:
            return False
        except AzureError as exc:
            raise lake_error(exc, "delete", path) from exc
        return True

    def list(self, prefix: str) -> list[str]:
        prefix = check_prefix(prefix)
        try:
            return sorted(
                str(item.name)
                for item in self._container.list_blobs(name_starts_with=prefix or None)
            )
        except ResourceNotFoundError:
            return []  # no container yet: nothing has been written
        except AzureError as exc:
            raise lake_error(exc, "list", prefix) from exc

    def read_tagged(self, path: str) -> tuple[dict[str, Any], str] | None:
        blob = self._container.get_blob_client(check_path(path))
        try:
            download = blob.download_blob()
            data = bytes(download.readall())
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise lake_error(exc, "read", path) from exc
        return decode(data, path), str(download.properties.etag)

    def write_if(self, path: str, document: Mapping[str, Any], etag: str | None) -> str:
        """Blob Storage's conditional write: If-Match the ETag, or If-None-Match * to create."""
        blob = self._container.get_blob_client(check_path(path))
        data = encode(document)
        condition: dict[str, Any] = (
            {"overwrite": False}
            if etag is None
            else {"overwrite": True, "etag": etag, "match_condition": MatchConditions.IfNotModified}
        )
        try:
            try:
                result = blob.upload_blob(data, content_settings=_JSON, **condition)
            except ResourceNotFoundError as exc:
                if getattr(exc, "error_code", None) != "ContainerNotFound":
                    raise
                self._create_container()
                result = blob.upload_blob(data, content_settings=_JSON, **condition)
        except (ResourceExistsError, ResourceModifiedError) as exc:
            raise PreconditionFailed(
                f"{path} changed since it was read", system=SYSTEM, status=412
            ) from exc
        except AzureError as exc:
            raise lake_error(exc, "write", path) from exc
        return str(result["etag"])

    def close(self) -> None:
        self._container.close()
        if self._credential is not None:
            self._credential.close()
