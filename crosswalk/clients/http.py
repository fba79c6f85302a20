"""The one way Crosswalk builds a `requests.Session` for an outside system."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests


class _Session(requests.Session):
    """A session whose `verify` setting wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

    requests lets those environment variables override `Session.verify` (psf/requests#3829),
    which would silently drop a configured CA bundle; passing it per request keeps it.
    """

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)


def make_session(
    *, ca_bundle: Path | None = None, headers: dict[str, str] | None = None
) -> requests.Session:
    session = _Session()
    if ca_bundle is not None:
        session.verify = str(ca_bundle)
    if headers:
        session.headers.update(headers)
    return session
