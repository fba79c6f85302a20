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


def test_supported_python_range_is_the_same_in_pyproject_readme_and_requirements():
    import sys
    import tomllib

    pyproject = tomllib.loads((README.parent / "pyproject.toml").read_text())
    supported = pyproject["project"]["requires-python"]
    requirements = (README.parent / "requirements.txt").read_text()

    assert supported == ">=3.11,<3.14"
    assert f'`requires-python = "{supported}"`' in README.read_text()
    assert "- Python 3.11, 3.12 or 3.13 " in README.read_text()
    # azure-functions 1.x requires < 3.13 and 2.x requires 3.13: the line follows the Python
    assert 'azure-functions~=1.26; python_version < "3.13"' in requirements
    assert 'azure-functions~=2.3; python_version >= "3.13"' in requirements
    assert (3, 11) <= sys.version_info[:2] < (3, 14)
