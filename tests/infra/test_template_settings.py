"""main.bicep gives the Function App every setting the app requires, each name one the app (or
its host) reads, with the README's defaults; what the app requires comes from
crosswalk/settings/ and the app's bindings, so a setting added there is caught here."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from tests.infra.template_settings import (
    AZURE_CHOICES,
    Template,
    app_setting_names,
    binding_setting_names,
    check,
    event_grid_function_names,
    required_setting_names,
    setting_objects,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def main_bicep(infra_check):
    return infra_check["main"]


def _template(main, parameter_file) -> Template:
    return Template.from_parsed(main, parameter_file)


def _without(main: dict, name: str) -> dict:
    """main.bicep as if `name` had been deleted from every settings object it is in."""
    changed = copy.deepcopy(main)
    removed = False
    for var in changed["variables"].values():
        for obj in _objects_in(var["value"]):
            for key in list(obj):
                if key.strip("'") == name:
                    del obj[key]
                    removed = True
    assert removed, f"{name} is not in main.bicep"
    return changed


def _objects_in(node):
    if isinstance(node, dict):
        if "function" not in node and "operator" not in node:
            yield node
        for value in node.values():
            yield from _objects_in(value)


def test_the_template_sets_every_required_setting_and_only_names_that_are_read(
    main_bicep, parameter_file
):
    found = check(_template(main_bicep, parameter_file))

    assert found.problems == []
    assert found.settings is not None  # load_settings accepted the template's values


def test_the_required_set_comes_from_the_app_itself():
    required = required_setting_names() | binding_setting_names()

    # today's: no default in crosswalk/settings/, or named by a binding expression
    assert {"SALESFORCE_CLIENT_ID", "D2C_BASE_URL", "D2C_TOKEN"} <= required_setting_names()
    assert "RECONCILE_SCHEDULE" in binding_setting_names()
    assert required <= set(app_setting_names()) | binding_setting_names()


@pytest.mark.parametrize(
    "name",
    ["SALESFORCE_CLIENT_ID", "D2C_TOKEN", "RECONCILE_SCHEDULE", "PROFILE_STORE_COSMOS_ENDPOINT"],
)
def test_removing_a_required_setting_fails_naming_it(main_bicep, parameter_file, name):
    found = check(_template(_without(main_bicep, name), parameter_file))

    assert any(problem.startswith(f"{name}:") for problem in found.problems), found.problems


def test_a_name_the_app_does_not_read_fails_naming_it(main_bicep, parameter_file):
    changed = copy.deepcopy(main_bicep)
    changed["variables"]["appSettings"]["value"]["RECONCILE_SCHEDUEL"] = "0 0 3 * * *"

    found = check(_template(changed, parameter_file))

    assert any(
        p.startswith("RECONCILE_SCHEDUEL (var appSettings): set by main.bicep, not read")
        for p in found.problems
    ), found.problems


def test_a_host_json_override_must_name_a_real_host_json_setting(main_bicep, parameter_file):
    changed = copy.deepcopy(main_bicep)
    changed["variables"]["schedulerSettings"]["value"][
        "AzureFunctionsJobHost__extensions__durableTask__storageProvidr__type"
    ] = "azureManaged"

    found = check(_template(changed, parameter_file))

    assert any(
        "storageProvidr__type" in p and "host.json has no such setting" in p for p in found.problems
    ), found.problems


def test_a_value_other_than_the_readme_default_needs_a_reason(main_bicep, parameter_file):
    changed = copy.deepcopy(main_bicep)
    changed["parameters"]["reconcileSchedule"]["default"] = "0 0 3 * * *"

    found = check(_template(changed, parameter_file))

    assert any(
        p.startswith("RECONCILE_SCHEDULE: main.bicep sets '0 0 3 * * *'") for p in found.problems
    ), found.problems
    assert set(AZURE_CHOICES) <= set(app_setting_names())


def test_extra_settings_in_the_parameter_file_are_checked_too(main_bicep, parameter_file):
    params = copy.deepcopy(parameter_file)
    params["parameters"]["extraAppSettings"]["value"] = {
        "APPROVAL_TIMEOUT_HOURS": "24",
        "APPROVAL_TIMEOUT_HOURZ": "24",
    }

    found = check(_template(main_bicep, params))

    assert found.settings is None or found.settings.approval.timeout_hours == 24
    assert [p for p in found.problems if "HOURZ" in p] == [
        "APPROVAL_TIMEOUT_HOURZ (param extraAppSettings (infra/main.parameters.json)): "
        "set by main.bicep, not read by the app"
    ]


def test_conditional_settings_are_read_from_both_branches(main_bicep, parameter_file):
    names = {
        key for _, obj in setting_objects(_template(main_bicep, parameter_file)) for key in obj
    }

    assert "NOTIFY_WEBHOOK_URL" in names  # only with a webhook
    assert "DURABLE_TASK_SCHEDULER_CONNECTION_STRING" in names  # only with the scheduler


def test_event_subscriptions_deliver_to_the_apps_event_grid_triggers():
    events = (ROOT / "infra" / "modules" / "events.bicep").read_text()
    named = set(re.findall(r"function: '([a-z0-9_]+)'", events))

    assert named == event_grid_function_names() == {"salesforce_change_events", "d2c_events"}
