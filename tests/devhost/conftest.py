"""devhost conformance fixtures: each test app lives in tests/devhost/apps/<name>/."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the repo root is not on sys.path unless a conftest adds it
    sys.path.insert(0, str(ROOT))

from devhost.testing import devhost_factory  # noqa: E402, F401  (re-exported fixture)

APPS = Path(__file__).parent / "apps"


@pytest.fixture(scope="module")
def app_host(request: pytest.FixtureRequest):
    """One in-process host per test module, for the app named by the module's APP."""
    from devhost.testing import run

    with run(APPS / request.module.APP) as host:
        yield host
