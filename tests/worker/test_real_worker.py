"""The real Python worker indexes function_app.py, and its deploy package, refusing nothing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from scripts.package_app import build
from tests.worker.real_worker import ROOT, index_with_worker

pytestmark = pytest.mark.timeout(900)  # the first run builds the cached 3.13 environment


@pytest.fixture(scope="module")
def app_verdict(worker_python: Path) -> dict:
    return index_with_worker(worker_python, ROOT)


def test_the_real_worker_loads_every_function_of_the_app(app_verdict: dict, capsys) -> None:
    functions, refused = app_verdict["functions"], app_verdict["refused"]
    with capsys.disabled():
        print(f"\nreal worker: {len(functions)} functions, {len(refused)} refused")
    assert app_verdict["error"] is None, app_verdict["error"]
    assert len(functions) > 0
    assert refused == {}, "refused by the real worker:\n" + "\n".join(refused.values())


def test_the_deployed_package_alone_loads_in_the_real_worker(
    worker_python: Path, app_verdict: dict, tmp_path
) -> None:
    """What .funcignore ships is enough: the unpacked zip indexes the same functions."""
    out = tmp_path / "app.zip"
    build(out, ROOT)
    unpacked = tmp_path / "wwwroot"
    zipfile.ZipFile(out).extractall(unpacked)
    verdict = index_with_worker(worker_python, unpacked)
    assert verdict["error"] is None, verdict["error"]
    assert verdict["refused"] == {}
    assert verdict["functions"] == app_verdict["functions"]
