"""The app's requirements resolve on a fresh Python 3.13, where Azure Functions also runs it.

pip resolves requirements.txt from scratch in an empty 3.13 virtual environment (`--dry-run`:
nothing is installed) and reports what it would install: azure-functions 2.x (1.x requires
Python < 3.13) beside the Durable SDK 1.x, which takes either.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.worker.real_worker import ROOT, find_python313

pytestmark = pytest.mark.slow


def test_the_apps_requirements_resolve_on_a_fresh_python_313(tmp_path: Path) -> None:
    python313 = find_python313()
    if python313 is None:
        pytest.skip("no Python 3.13 here ($CROSSWALK_PYTHON313, PATH or ~/.pyenv)")
    subprocess.run([python313, "-m", "venv", str(tmp_path / "env")], check=True)
    report = tmp_path / "report.json"

    resolved = subprocess.run(
        [
            str(tmp_path / "env" / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--disable-pip-version-check",
            "--report",
            str(report),
            "-r",
            str(ROOT / "requirements.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert resolved.returncode == 0, resolved.stderr[-3000:]
    chosen = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert chosen["azure-functions"].startswith("2.")
    assert chosen["azure-functions-durable"].startswith("1.")
