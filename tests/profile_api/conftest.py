"""A profile API stack: the real app on devhost, the sandbox's Entra ID stand-in issuing real
tokens, and profiles written straight into the SQLite store the app reads (another process on
the same file, as the store supports)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import sandbox
from crosswalk.profiles import SqliteProfileStore
from devhost.testing import RunningHost, run
from sandbox.entra.directory import (
    PROFILES_READ,
    STOREFRONT_CLIENT_ID,
    STOREFRONT_CLIENT_SECRET,
    Directory,
)
from scripts.localstack import APP_DIR, app_env


@dataclass
class ProfileStack:
    sb: Any
    host: RunningHost
    store: SqliteProfileStore

    @property
    def entra(self) -> Directory:
        return self.sb.entra

    def token(
        self,
        client_id: str = STOREFRONT_CLIENT_ID,
        secret: str = STOREFRONT_CLIENT_SECRET,
    ) -> str:
        """An access token from the stand-in's token endpoint, over HTTP as a service gets it."""
        return self.entra.fetch_token(client_id, secret)

    def get(self, path: str, token: str | None = None, **headers: str):
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.host.get(f"/api/{path}", headers=headers)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProfileStack]:
    data = tmp_path_factory.mktemp("profile-api")
    with sandbox.run(seed=0) as sb:
        # no refresh cooldown, so a rotated key is fetched at once (Entra publishes new keys
        # well before it signs with them; the default cooldown is 30 s)
        env = app_env(sb, data, PROFILE_API_JWKS_REFRESH_COOLDOWN_SECONDS="0")
        store = SqliteProfileStore(Path(env["PROFILE_STORE_SQLITE_PATH"]))
        with run(APP_DIR, env=env, time_skipping=False) as host:
            yield ProfileStack(sb=sb, host=host, store=store)
        store.close()


@pytest.fixture(scope="module")
def reader_token(stack: ProfileStack) -> str:
    return stack.token()


@pytest.fixture(scope="module")
def roleless_client(stack: ProfileStack) -> tuple[str, str]:
    client = stack.entra.register_client(roles=[])
    return client.client_id, client.secret


__all__ = ["PROFILES_READ", "ProfileStack"]
