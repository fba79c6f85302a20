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
