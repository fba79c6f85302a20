"""The infra check runs once per session in its own environment (.venv-infra, `make
infra-venv`): it parses every .bicep file, runs checkov, and hands back the parsed main.bicep.

Without .venv-infra these tests fail and say how to build it: CI builds it (`make test`
depends on it), and a check that silently skipped would let a broken template through.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA_PYTHON = ROOT / ".venv-infra" / "bin" / "python"
CHECK = ROOT / "scripts" / "infra_check.py"
_summary: list[str] = []


@pytest.fixture(scope="session")
def infra_check(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """scripts/infra_check.py's results: counts, problems, the parsed main.bicep, its output."""
    if not INFRA_PYTHON.exists():
        pytest.fail(
            f"{INFRA_PYTHON.relative_to(ROOT)} is missing: run `make infra-venv` "
            "(it installs checkov and pycep-parser from infra/requirements-check.txt)",
            pytrace=False,
        )
    report = tmp_path_factory.mktemp("infra") / "report.json"
    done = subprocess.run(
        [str(INFRA_PYTHON), str(CHECK), "--report", str(report)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if not report.exists():
        pytest.fail(f"the infra check did not run:\n{done.stdout}\n{done.stderr}", pytrace=False)
    results = json.loads(report.read_text())
    results["output"] = done.stdout
    results["exit_code"] = done.returncode
    _summary.append(done.stdout.strip())
    return results


@pytest.fixture(scope="session")
def parameter_file() -> dict[str, Any]:
    return json.loads((ROOT / "infra" / "main.parameters.json").read_text())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show what the infra check counted at the end of every run that ran it."""
    for text in _summary:
        terminalreporter.write_sep("-", "infra check")
        terminalreporter.write_line(text)


@pytest.fixture(scope="session")
def bicep_files(infra_check: dict[str, Any]) -> dict[str, Any]:
    """Every parsed .bicep file (by its path under infra/), as scripts/bicep_template reads it."""
    from scripts.bicep_template import BicepFile

    return {path: BicepFile(path, parsed) for path, parsed in infra_check["files"].items()}
