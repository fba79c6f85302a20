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
def app_host(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One in-process host per test module, for the app named by the module's APP.

    Tests share it, so each uses its own instance ids (uuid-based), never fixed ones.
    """
    from devhost.testing import run

    state = tmp_path_factory.mktemp("state")
    env = {"CONFORMANCE_STATE_DIR": str(state), **getattr(request.module, "ENV", {})}
    with run(APPS / request.module.APP, env=env, workers=2) as host:
        yield host


@pytest.fixture(scope="module")
def skipping_host(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Like app_host, with time skipping: idle hosts jump to the next durable timer."""
    from devhost.testing import run

    state = tmp_path_factory.mktemp("state")
    env = {"CONFORMANCE_STATE_DIR": str(state)}
    with run(APPS / request.module.APP, env=env, time_skipping=True) as host:
        yield host
