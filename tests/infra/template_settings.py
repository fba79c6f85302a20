"""Read the Function App's settings out of the parsed main.bicep and hold them against the app.

What the app requires is derived, never listed by hand: every setting `crosswalk/settings/`
declares (its groups' prefixes and fields, including the ones other issues add later), every
`%NAME%` app-setting expression in the app's own bindings (the timer's `%RECONCILE_SCHEDULE%`),
and whatever `load_settings` refuses to start without once the template's values are in.

The parsed template comes from pycep (scripts/infra_check.py, in .venv-infra). In its JSON a
bare string is either a literal or a reference to a parameter or variable; a string that names
one of them is read as the reference, a string with `${` as an interpolation, and a dict as an
expression (function call, property access, condition). Values that are only known at deploy
time (module outputs, Key Vault references, a parameter infra/main.parameters.json maps to a
bare `${VAR}`, which the deployer's azd value decides) are stood in for by a value of the
setting's type (the setting's own example when it has one).
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import AnyHttpUrl, SecretStr

from crosswalk.settings import GROUPS, Settings, SettingsError, load_settings
from tests.app_functions import app_functions

ROOT = Path(__file__).resolve().parents[2]
HOST_JSON = ROOT / "host.json"

# Settings the Functions host reads (not the app): each with what reads it. Names under
# AzureFunctionsJobHost__ are checked against host.json instead, and the connection a
# durableTask storageProvider override names is allowed because of that override.
HOST_SETTINGS = {
    "AzureWebJobsStorage__accountName": "the host's storage (and the Azure Storage durable "
    "backend, host.json connectionStringName AzureWebJobsStorage) by managed identity",
    "AzureWebJobsStorage__credential": "identity-based AzureWebJobsStorage: managedidentity",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "the host's Application Insights telemetry",
    "PYTHON_ENABLE_OPENTELEMETRY": "the Python worker continues the host's trace in each "
    "invocation (host.json telemetryMode OpenTelemetry)",
}

# Where the Azure deployment deliberately differs from the code's local default.
AZURE_CHOICES = {
    "PROFILE_STORE_KIND": "Cosmos DB instead of the local SQLite file",
    "LAKE_KIND": "Blob Storage (the ADLS Gen2 lake) instead of a local folder",
    "SUPPORT_AUDIT_KIND": "append blobs shared by every instance instead of a local SQLite file",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "telemetry with the app's managed identity, so "
    "Application Insights keeps local auth off",
    "RELAY_ENABLED": "the Pub/Sub API relay runs in Azure (locally make run turns it on too)",
}

UNKNOWN = object()  # a value only known at deploy time
SETTING_EXPRESSION = re.compile(r"%([A-Za-z0-9_]+)%")
AZD_VALUE = re.compile(r"\$\{[A-Z0-9_]+\}")  # a parameter file value with no default of its own


@dataclass(frozen=True)
class Template:
    """The parts of the parsed main.bicep the settings come from."""

    parameters: dict[str, Any]
    variables: dict[str, Any]
    settings_expression: Any
    parameter_file: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_parsed(cls, main: Mapping[str, Any], parameter_file: Mapping[str, Any]) -> Template:
        modules = main.get("modules") or {}
        function_apps = [
            m
            for m in modules.values()
            if str(m.get("detail", {}).get("path", "")).endswith("function-app.bicep")
        ]
        if len(function_apps) != 1:
            raise AssertionError("main.bicep must use modules/function-app.bicep exactly once")
        params = function_apps[0].get("config", {}).get("params", {})
        if "appSettings" not in params:
            raise AssertionError("main.bicep passes no appSettings to the Function App module")
        return cls(
            parameters=dict(main.get("parameters") or {}),
            variables={k: v.get("value") for k, v in (main.get("variables") or {}).items()},
            settings_expression=params["appSettings"],
            parameter_file={
                k: v.get("value") for k, v in (parameter_file.get("parameters") or {}).items()
            },
        )


def app_setting_names() -> dict[str, tuple[str, str]]:
    """Every environment variable crosswalk/settings/ reads -> (group, field)."""
    return {
        group.prefix + name.upper(): (group_name, name)
        for group_name, group in GROUPS.items()
        for name in group.model_fields
    }


def required_setting_names() -> set[str]:
    """The settings crosswalk/settings/ has no default for."""
    return {
        group.prefix + name.upper()
        for group in GROUPS.values()
        for name, info in group.model_fields.items()
        if info.is_required()
    }


def app_bindings() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each of the app's functions with its bindings as the host indexes them (JSON text)."""
    return tuple(
        (function.get_function_name(), tuple(function.get_raw_bindings()))
        for function in app_functions()
    )


def binding_setting_names() -> set[str]:
    """App settings the app's bindings name as `%NAME%` (the host resolves them, not Python)."""
    return {
        name
        for _, bindings in app_bindings()
        for raw in bindings
        for name in SETTING_EXPRESSION.findall(raw)
    }


def event_grid_function_names() -> set[str]:
    return {
        function
        for function, bindings in app_bindings()
        if any(json.loads(raw).get("type") == "eventGridTrigger" for raw in bindings)
    }


def host_json_paths() -> set[str]:
    """Every key path in host.json, as AzureFunctionsJobHost__a__b names it."""
    paths: set[str] = set()

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                path = f"{prefix}__{key}"
                paths.add(path)
                walk(value, path)

    walk(json.loads(HOST_JSON.read_text()), "AzureFunctionsJobHost")
    return paths


def _unquote(key: str) -> str:
    return key[1:-1] if len(key) > 1 and key[0] == key[-1] == "'" else key


def setting_objects(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object literal that can end up in the Function App's settings, with where it
    came from: variables followed, both branches of a condition, every argument of union()."""

    def walk(expr: Any, origin: str, seen: frozenset[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(expr, str):
            if expr in seen:
                return
            if expr in template.variables:
                yield from walk(template.variables[expr], f"var {expr}", seen | {expr})
            elif expr in template.parameters:
                default = template.parameters[expr].get("default")
                if isinstance(default, dict):
                    yield f"param {expr} (default)", default
                value = template.parameter_file.get(expr)
                if isinstance(value, dict):
                    yield f"param {expr} (infra/main.parameters.json)", value
            else:
                raise AssertionError(f"{origin}: cannot tell what {expr!r} is")
            return
        if not isinstance(expr, dict):
            raise AssertionError(f"{origin}: app settings must be an object, not {expr!r}")
        if "function" in expr and expr["function"].get("type") == "union":
            for arg in expr["function"]["parameters"].values():
                yield from walk(arg, origin, seen)
        elif "operator" in expr and expr["operator"].get("type") == "conditional":
            operands = expr["operator"]["operands"]
            yield from walk(operands["true_value"], origin, seen)
            yield from walk(operands["false_value"], origin, seen)
        elif "function" in expr or "operator" in expr:
            raise AssertionError(f"{origin}: app settings built in a way this test cannot read")
        else:
            yield origin, {_unquote(k): v for k, v in expr.items()}

    yield from walk(template.settings_expression, "appSettings", frozenset())


def resolve(value: Any, template: Template, seen: frozenset[str] = frozenset()) -> Any:
    """A setting's value as text when the template fixes it, else UNKNOWN."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str) or "${" in value:
        return UNKNOWN
    if value in seen:
        return UNKNOWN
    if value in template.parameters:
        if AZD_VALUE.fullmatch(str(template.parameter_file.get(value, ""))):
            return UNKNOWN  # `${VAR}`: the deployer's azd value; the default is only a fallback
        default = template.parameters[value].get("default")
        return UNKNOWN if default is None else resolve(default, template, seen | {value})
    if value in template.variables:
        return resolve(template.variables[value], template, seen | {value})
    return value


def _leaf_types(annotation: Any) -> set[Any]:
    args = typing.get_args(annotation)
    if not args:
        return {annotation}
    found: set[Any] = set()
    for arg in args:
        found |= _leaf_types(arg)
    return found


def stand_in(name: str) -> str | None:
    """A value of the setting's type for one only known at deploy time, or None when the
    type leaves no safe guess (numbers, enums: the template must fix those)."""
    group_name, field_name = app_setting_names()[name]
    info = GROUPS[group_name].model_fields[field_name]
    if info.examples:  # the setting shows what a value looks like (e.g. a Key Vault secret URI)
        return str(info.examples[0])
    leaves = _leaf_types(info.annotation)
    if any(isinstance(t, type) and issubclass(t, AnyHttpUrl) for t in leaves):
        return "https://deploy-time.example.com/"
    if SecretStr in leaves:  # Key Vault references: some secrets are URLs, some need length
        return "https://deploy-time.example.com/" + "s" * 32
    if Path in leaves:
        return "/deploy-time"
    if any(isinstance(t, type) and issubclass(t, Enum) for t in leaves):
        return None
    if str in leaves:
        return "deploy-time"
    return None


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    settings: Settings | None = None


def check(template: Template) -> Findings:
    """Everything wrong with the template's Function App settings, one line each."""
    found = Findings()
    app_names = app_setting_names()
    bindings = binding_setting_names()
    host_paths = host_json_paths()
    durable_connections = {"AzureWebJobsStorage"}
    objects = list(setting_objects(template))
    for _, settings in objects:
        for key, value in settings.items():
            if key.endswith("__connectionStringName") and isinstance(value, str):
                durable_connections.add(value)

    set_anywhere: set[str] = set()
    extra: dict[str, str] = {}
    for origin, settings in objects:
        for key, value in settings.items():
            set_anywhere.add(key)
            if key in app_names or key in bindings:
                text = resolve(value, template)
                if text is UNKNOWN:
                    text = stand_in(key) if key in app_names else "deploy-time"
                    if text is None:
                        found.problems.append(
                            f"{key} ({origin}): set it to a literal or a parameter with a "
                            "default; its type allows no stand-in"
                        )
                        continue
                found.values[key] = text
                if origin.startswith("param "):
                    extra[key] = text
            elif key in HOST_SETTINGS or key in host_paths or key in durable_connections:
                continue
            elif key.startswith("AzureFunctionsJobHost__"):
                found.problems.append(f"{key} ({origin}): host.json has no such setting")
            else:
                found.problems.append(f"{key} ({origin}): set by main.bicep, not read by the app")

    for name in sorted((required_setting_names() | bindings) - set_anywhere):
        found.problems.append(
            f"{name}: required by the app, missing from main.bicep's app settings"
        )

    app_values = {k: v for k, v in found.values.items() if k in app_names}
    try:
        found.settings = load_settings(app_values)
    except SettingsError as exc:
        found.problems.extend(f"{name}: {reason}" for name, reason in exc.problems)
        return found

    for key, text in sorted(app_values.items()):
        if key in AZURE_CHOICES or key in extra or resolve_is_deploy_time(key, template, objects):
            continue
        group_name, field_name = app_names[key]
        info = GROUPS[group_name].model_fields[field_name]
        if info.is_required():
            continue
        default = info.get_default(call_default_factory=True)
        actual = getattr(getattr(found.settings, _attribute(group_name)), field_name)
        if actual != default:
            found.problems.append(
                f"{key}: main.bicep sets {text!r}, the README's default is {default!r} "
                "(or list it in AZURE_CHOICES with the reason)"
            )
    return found


def resolve_is_deploy_time(key: str, template: Template, objects: list[tuple[str, dict]]) -> bool:
    """True when the template's value for `key` is only known at deploy time."""
    return any(key in s and resolve(s[key], template) is UNKNOWN for _, s in objects)


def _attribute(group_name: str) -> str:
    """The Settings attribute of a GROUPS entry (the same names today)."""
    if group_name not in Settings.__dataclass_fields__:
        raise AssertionError(f"Settings has no attribute for the group {group_name!r}")
    return group_name
