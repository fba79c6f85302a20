"""The README stays true: its configuration table lists exactly the settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

from crosswalk.settings import GROUPS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_configuration_table_lists_every_setting_and_no_other():
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README.read_text(), flags=re.MULTILINE))
    actual = {
        group.prefix + name.upper() for group in GROUPS.values() for name in group.model_fields
    }

    assert documented == actual


def test_example_local_settings_only_uses_real_settings():
    import json

    values = json.loads((README.parent / "local.settings.example.json").read_text())["Values"]
    actual = {
        group.prefix + name.upper() for group in GROUPS.values() for name in group.model_fields
    }
    functions_host = {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage", "AzureWebJobsFeatureFlags"}

    assert set(values) - functions_host <= actual


def test_supported_python_range_is_the_same_in_pyproject_readme_and_azure_functions():
    import importlib.metadata
    import sys
    import tomllib

    pyproject = tomllib.loads((README.parent / "pyproject.toml").read_text())
    supported = pyproject["project"]["requires-python"]

    assert supported == ">=3.11,<3.13"
    assert f'`requires-python = "{supported}"`' in README.read_text()
    assert "- Python 3.11 or 3.12 " in README.read_text()
    # the app's azure-functions 1.x is why: it excludes 3.13 itself
    assert "<3.13" in importlib.metadata.metadata("azure-functions")["Requires-Python"]
    assert (3, 11) <= sys.version_info[:2] < (3, 13)
