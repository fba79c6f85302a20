"""`azd up` finds what it needs: the service deploys to the Function App the template tags
for it, the parameter file names only real parameters, the postdeploy hook turns on the
parameter that creates the Event Grid subscriptions. (What the package holds is
tests/unit/test_funcignore.py's.)"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _azure_yaml() -> dict:
    return yaml.safe_load((ROOT / "azure.yaml").read_text())


def test_the_service_deploys_to_the_function_app_the_template_tags():
    azd = _azure_yaml()
    function_app = (ROOT / "infra" / "modules" / "function-app.bicep").read_text()

    assert (ROOT / azd["infra"]["path"] / f"{azd['infra']['module']}.bicep").exists()
    assert list(azd["services"]) == ["api"]
    assert azd["services"]["api"]["host"] == "function"
    assert azd["services"]["api"]["language"] == "python"
    assert "'azd-service-name': 'api'" in function_app


def test_the_parameter_file_names_only_parameters_main_bicep_declares(infra_check, parameter_file):
    declared = set(infra_check["main"]["parameters"])

    assert set(parameter_file["parameters"]) <= declared
    undeclared_required = {
        name
        for name, param in infra_check["main"]["parameters"].items()
        if param.get("default") is None
        and not any(d.get("type") == "secure" for d in param.get("decorators", []))
    } - set(parameter_file["parameters"])
    assert undeclared_required == set()  # secure ones azd prompts for and keeps itself


def test_the_postdeploy_hook_turns_on_the_event_subscriptions(parameter_file):
    hook = _azure_yaml()["hooks"]["postdeploy"]
    subscribe = parameter_file["parameters"]["subscribeEvents"]["value"]

    variable = re.fullmatch(r"\$\{([A-Z_]+)=false\}", subscribe).group(1)
    for shell in ("posix", "windows"):
        assert f"azd env set {variable} true" in hook[shell]["run"]
        assert "azd provision" in hook[shell]["run"]


def test_the_preprovision_hook_generates_the_erasure_key_once(parameter_file, tmp_path):
    """The posix hook runs with a stand-in `azd` on the PATH (a test double: azd itself is not
    installed here) that records what the hook sets."""
    import os
    import subprocess

    hook = _azure_yaml()["hooks"]["preprovision"]
    variable = re.fullmatch(
        r"\$\{([A-Z_]+)\}", parameter_file["parameters"]["erasureKey"]["value"]
    ).group(1)
    fake = tmp_path / "azd"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$*" >> "$AZD_CALLS"\n')
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "AZD_CALLS": str(calls)}

    subprocess.run(["sh", "-c", hook["posix"]["run"]], env=env, check=True)
    subprocess.run(["sh", "-c", hook["posix"]["run"]], env={**env, variable: "k" * 64}, check=True)

    (line,) = calls.read_text().splitlines()  # set the first time only
    command, name, value = line.rsplit(" ", 2)
    assert (command, name) == ("env set", variable)
    assert len(value) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", value)
    assert f"azd env set {variable}" in hook["windows"]["run"]
    assert "RandomNumberGenerator" in hook["windows"]["run"]
