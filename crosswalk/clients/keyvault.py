"""The one client for Key Vault: a secret read with the app's identity, cached.

A secret is named by its identifier URI (`https://<vault>.vault.azure.net/secrets/<name>`,
optionally `/<version>`). Without a version the latest is read, so a rotation (a new version
set in the vault) reaches the app when the cache expires, or at once when the caller learns
the cached value was refused and calls `refresh()`. The value is never logged or put in an
error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from crosswalk.errors import (
    AuthenticationFailed,
    ConfigurationError,
    NotFound,
    TransientError,
    error_for_status,
)

SYSTEM = "keyvault"
CACHE_SECONDS = 300.0
"""How long a read value is used before the vault is asked again (a rotation's delay)."""


def split_secret_uri(uri: str) -> tuple[str, str, str]:
    """(vault URL, secret name, version or "") of a Key Vault secret identifier."""
    parts = urlsplit(uri)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme != "https" or not parts.netloc:
        raise ConfigurationError(f"Key Vault secret URI must be https: {parts.netloc or uri!r}")
    if len(segments) not in (2, 3) or segments[0] != "secrets":
        raise ConfigurationError(
            "Key Vault secret URI must be https://<vault>/secrets/<name>[/<version>]"
        )
    version = segments[2] if len(segments) == 3 else ""
    return f"{parts.scheme}://{parts.netloc}", segments[1], version


class KeyVaultSecret:
    """One secret's value, read with `credential` (DefaultAzureCredential when None: the app's
    managed identity in Azure) and kept for `cache_seconds`."""

    def __init__(
        self,
        secret_uri: str,
        *,
        credential: Any = None,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        **client_options: Any,
    ) -> None:
        self._vault_url, self._name, self._version = split_secret_uri(secret_uri)
        self._credential = credential
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._client_options = client_options
        self._client: Any = None
        self._owned_credential: Any = None
        self._lock = threading.Lock()
        self._value: str | None = None
        self._read_at = 0.0

    @property
    def name(self) -> str:
        return self._name

    def value(self) -> str:
        """The cached value, read again once it is older than the cache allows."""
        with self._lock:
            if self._value is None or self._clock() - self._read_at >= self._cache_seconds:
                self._read()
            assert self._value is not None
            return self._value

    def refresh(self) -> str:
        """Read the vault now (the cached value was refused: perhaps it was rotated)."""
        with self._lock:
            self._read()
            assert self._value is not None
            return self._value

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._owned_credential is not None:
            self._owned_credential.close()

    def _secret_client(self) -> Any:
        if self._client is None:
            from azure.keyvault.secrets import SecretClient

            credential = self._credential
            if credential is None:
                from azure.identity import DefaultAzureCredential

                credential = self._owned_credential = DefaultAzureCredential()
            self._client = SecretClient(self._vault_url, credential, **self._client_options)
        return self._client

    def _read(self) -> None:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
            ServiceResponseError,
        )

        where = f"secret {self._name} in {urlsplit(self._vault_url).netloc}"
        try:
            secret = self._secret_client().get_secret(self._name, self._version or None)
        except ResourceNotFoundError:
            raise NotFound(f"{where} does not exist", system=SYSTEM, status=404) from None
        except ClientAuthenticationError as exc:
            raise AuthenticationFailed(
                f"{where}: the app's identity got no token or was refused ({type(exc).__name__})",
                system=SYSTEM,
                status=getattr(exc, "status_code", None),
            ) from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise TransientError(f"{where}: {type(exc).__name__}", system=SYSTEM) from None
        except HttpResponseError as exc:
            status = exc.status_code or 500
            code = exc.error.code if exc.error is not None else None
            raise error_for_status(SYSTEM, status, f"{where} refused", code=code) from None
        if not secret.value:
            raise NotFound(f"{where} is empty", system=SYSTEM)
        self._value = secret.value
        self._read_at = self._clock()
