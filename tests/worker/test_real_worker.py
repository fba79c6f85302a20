"""The real Python worker indexes function_app.py and refuses none of its functions."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from scripts.package_app import build
from tests.worker.real_worker import ROOT, index_with_worker


@pytest.mark.timeout(900)  # the first run builds the cached 3.13 environment
def test_the_real_worker_loads_every_function_of_the_app(worker_python: Path, capsys) -> None:
    verdict = index_with_worker(worker_python, ROOT)
    functions, refused = verdict["functions"], verdict["refused"]
    with capsys.disabled():
        print(f"\nreal worker: {len(functions)} functions, {len(refused)} refused")
    assert verdict["error"] is None, verdict["error"]
    assert len(functions) > 0
    assert refused == {}, "refused by the real worker:\n" + "\n".join(refused.values())


@pytest.mark.timeout(900)
def test_the_deployed_package_alone_loads_in_the_real_worker(worker_python: Path, tmp_path) -> None:
    """What .funcignore ships is enough: the unpacked zip indexes with nothing refused."""
    out = tmp_path / "app.zip"
    build(out, ROOT)
    unpacked = tmp_path / "wwwroot"
    zipfile.ZipFile(out).extractall(unpacked)
    verdict = index_with_worker(worker_python, unpacked)
    assert verdict["error"] is None, verdict["error"]
    assert verdict["refused"] == {}
    assert len(verdict["functions"]) == len(index_with_worker(worker_python, ROOT)["functions"])
