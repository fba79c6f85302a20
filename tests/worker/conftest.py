"""The real Python worker (azure-functions-runtime on 3.13), built once and cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.testing import devhost_factory  # noqa: F401  (re-exported fixture)
from tests.worker.real_worker import ensure_venv, find_python313


@pytest.fixture(scope="session")
def worker_python() -> Path:
    """The cached 3.13 environment's interpreter; skips where no Python 3.13 exists."""
    python313 = find_python313()
    if python313 is None:
        pytest.skip(
            "no Python 3.13 here (not in $CROSSWALK_PYTHON313, on PATH or under ~/.pyenv): "
            "the real worker's library needs it; .ci/run provides it in CI"
        )
    return ensure_venv(python313)
