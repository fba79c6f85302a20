"""The template against Azure's own published Bicep types (scripts/bicep_schema.py): the real
template passes, and an error of each kind planted in it fails with a message that names the
file, the resource, the property path and what Azure expects."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest

from scripts.bicep_schema import TYPES_ENV, TYPES_MISSING, check_files, types_root
from scripts.bicep_template import BicepFile, body

ROOT = Path(__file__).resolve().parents[2]
# Azure's type data is read where it lies (never copied into the project); without it these
# tests skip and say why, as the browser and real-worker tests do.
pytestmark = pytest.mark.skipif(types_root() is None, reason=TYPES_MISSING)
INFRA_PYTHON = ROOT / ".venv-infra" / "bin" / "python"


@pytest.fixture
def files(infra_check) -> dict[str, BicepFile]:
    """A private copy of every parsed file, to plant errors in."""
    parsed = copy.deepcopy(infra_check["files"])
    return {path: BicepFile(path, p) for path, p in parsed.items()}


def _config(files, path: str, symbol: str) -> dict:
    return body(files[path].resources[symbol])[0]


def _problems(files) -> list[str]:
    return check_files(files).problems


def test_the_type_data_is_found():
    assert types_root() is not None and any(types_root().glob("*/*/*/types.json"))


def test_every_resource_matches_azures_published_types(infra_check):
    files = infra_check["files"]
    resources = sum(len(p.get("resources") or {}) for p in files.values())

    assert infra_check["counts"]["schema_problems"] == 0, infra_check["output"]
    assert infra_check["counts"]["schema_resources"] == resources > 40
    assert f"schema: {resources} resources in {len(files)} Bicep files" in infra_check["output"]


def test_a_misspelt_property_fails_with_the_path_and_azures_spelling(files):
    site_config = _config(files, "modules/function-app.bicep", "site")["properties"]["siteConfig"]
    site_config["minTlsVerison"] = site_config.pop("minTlsVersion")

    assert _problems(files) == [
        "modules/function-app.bicep site (Microsoft.Web/sites@2024-04-01): "
        "properties.siteConfig.minTlsVerison: not a property Azure knows at "
        "properties.siteConfig; did you mean minTlsVersion?"
    ]


def test_a_value_outside_a_closed_enum_fails_listing_the_allowed_ones(files):
    auth = _config(files, "modules/function-app.bicep", "auth")
    auth["properties"]["globalValidation"]["unauthenticatedClientAction"] = "AllowAnonymus"

    (problem,) = _problems(files)
    assert "properties.globalValidation.unauthenticatedClientAction" in problem
    assert "\"AllowAnonymus\" is not one of ['RedirectToLoginPage', 'AllowAnonymous'," in problem


def test_a_read_only_property_fails(files):
    _config(files, "modules/lake.bicep", "account")["properties"]["primaryEndpoints"] = {}

    assert _problems(files) == [
        "modules/lake.bicep account (Microsoft.Storage/storageAccounts@2023-05-01): "
        "properties.primaryEndpoints: read-only: Azure sets it, a template cannot"
    ]


def test_an_unknown_api_version_fails_saying_the_type_data_lacks_it(files):
    files["modules/events.bicep"].resources["topic"]["api_version"] = "2099-01-01"

    (problem,) = [p for p in _problems(files) if "topic " in p]
    assert problem.startswith(
        "modules/events.bicep topic (Microsoft.EventGrid/topics@2099-01-01): API version "
        "2099-01-01 of Microsoft.EventGrid is not in Azure's type data at"
    )
    assert "(versions there: 2022-06-15)" in problem


def test_a_provider_missing_from_the_data_fails_saying_so(files):
    files["modules/monitoring.bicep"].resources["workspace"]["type"] = "Microsoft.Nothing/things"

    (problem,) = _problems(files)
    assert "provider Microsoft.Nothing is not in Azure's type data" in problem
    assert "add generated/<group>/microsoft.nothing/<version>/types.json" in problem


def test_a_missing_required_property_fails(files):
    del _config(files, "modules/access.bicep", "lakeAccess")["properties"]["roleDefinitionId"]

    (problem,) = _problems(files)
    assert problem.endswith("properties.roleDefinitionId: required by Azure, not set")


def test_a_literal_is_held_to_azures_pattern_and_length(files):
    _config(files, "modules/lake.bicep", "account")["name"] = "Crosswalk_Lake_Account_Storage"

    length, pattern = _problems(files)
    assert length.endswith("name: 'Crosswalk_Lake_Account_Storage' is 30 long; Azure takes 3-24")
    assert pattern.endswith("does not match Azure's pattern ^[a-z0-9]+$")


def test_both_branches_of_a_condition_are_checked(files):
    account = _config(files, "modules/cosmos.bicep", "account")
    capabilities = account["properties"]["capabilities"]["operator"]["operands"]
    capabilities["true_value"] = [{"nmae": "EnableServerless"}]

    (problem,) = _problems(files)
    assert "properties.capabilities[].nmae: not a property Azure knows" in problem


def test_a_module_call_is_checked_against_the_modules_parameters(files):
    params = body(files["main.bicep"].modules["lake"])[0]["params"]
    params["auditRetentionDay"] = params.pop("auditRetentionDays")

    assert sorted(_problems(files)) == [
        "main.bicep module lake: modules/lake.bicep has no parameter auditRetentionDay "
        "(did you mean auditRetentionDays?)",
        "main.bicep module lake: modules/lake.bicep requires parameter auditRetentionDays",
    ]


def test_an_output_the_caller_reads_must_be_one_the_module_declares(files):
    outputs = files["modules/function-app.bicep"].parsed["outputs"]
    outputs["defaultHostName"] = outputs.pop("hostName")

    problems = _problems(files)

    assert problems == [
        "main.bicep module functionApp: modules/function-app.bicep has no output hostName "
        "(did you mean defaultHostName?)"
    ]


def test_a_parameters_default_and_allowed_values_are_held_to_the_type(files):
    params = files["modules/host-storage.bicep"].parameters
    params["deploymentContainer"]["default"] = "pk"

    (problem,) = _problems(files)

    assert problem == (
        "modules/host-storage.bicep deployment "
        "(Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01): "
        "name (param deploymentContainer defaults to \"pk\"): 'pk' is 2 long; Azure takes 3-63"
    )


def test_missing_type_data_fails_saying_where_to_get_it(files, tmp_path):
    result = check_files(files, root=tmp_path / "nowhere")

    assert result.problems == [
        f"Azure's Bicep type definitions not found (looked in {tmp_path / 'nowhere'}): set "
        f"{TYPES_ENV} to a folder shaped like Azure/bicep-types-az's generated/"
    ]


PLANTED = """param location string
resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-planted'
  location: location
  properties: {
    httpsOnyl: true
    defaultHostName: 'planted.example.com'
  }
}
resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  name: 'planted/default/audit'
  properties: {
    publicAccess: 'Private'
  }
}
resource topic 'Microsoft.EventGrid/topics@2031-01-01' = {
  name: 'planted'
  location: location
}
"""


def test_the_command_fails_on_a_planted_file_naming_each_error(tmp_path):
    (tmp_path / "planted.bicep").write_text(PLANTED)

    done = subprocess.run(
        [str(INFRA_PYTHON), str(ROOT / "scripts" / "bicep_schema.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("schema: 3 resources in 1 Bicep files checked")
    assert lines[0].endswith(": 4 problems")
    assert any("properties.httpsOnyl: not a property" in line for line in lines)
    assert any("did you mean httpsOnly?" in line for line in lines)
    assert any("properties.defaultHostName: read-only" in line for line in lines)
    assert any("\"Private\" is not one of ['Container', 'Blob', 'None']" in line for line in lines)
    assert any("API version 2031-01-01 of Microsoft.EventGrid is not in" in line for line in lines)
