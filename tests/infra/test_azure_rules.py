"""Rules Azure enforces that its published types cannot express, each held against the template:
Flex Consumption's refused site properties, Event Grid's subscription names, a locked
immutability policy, API Management's publisher, azd's prompts, Easy Auth's token store,
Cosmos DB's throughput, the Durable Task Scheduler's Dedicated SKU and API Management's OpenAPI
import. Each rule names where Azure states it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from scripts.bicep_template import UNKNOWN, BicepFile, body, literal_decorator

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()

# Site properties a Flex Consumption site refuses. ARM answers BadRequest 51021 ("The following
# list of site configuration properties (Site.SiteConfig.FtpsState, Site.SiteConfig.
# Use32BitWorkerProcess, Site.SiteConfig.PreWarmedInstanceCount, Site.SiteConfig.
# NetFrameworkVersion, Site.SiteConfig.FunctionsRuntimeScaleMonitoringEnabled) for Flex
# Consumption sites is invalid", and the same for LinuxFxVersion); Learn's "Flex Consumption
# plan deprecations" (functions-app-settings) moves the runtime, its version and scaling to
# properties.functionAppConfig, so the other stack and scale properties go too.
FLEX_REFUSED_SITE_CONFIG = {
    "ftpsState",
    "use32BitWorkerProcess",
    "preWarmedInstanceCount",
    "netFrameworkVersion",
    "functionsRuntimeScaleMonitoringEnabled",
    "linuxFxVersion",
    "windowsFxVersion",
    "javaVersion",
    "powerShellVersion",
    "pythonVersion",
    "alwaysOn",
    "functionAppScaleLimit",
    "minimumElasticInstanceCount",
}
# Event Grid: "Event subscription names must be between 3 and 64 characters in length and can
# only contain a-z, A-Z, 0-9, and '-'".
SUBSCRIPTION_NAME = re.compile(r"[A-Za-z0-9-]{3,64}")


def _resources(files: dict[str, BicepFile], type_name: str):
    for file in files.values():
        for name, resource in file.resources.items():
            if resource["type"].lower() == type_name.lower() and not resource.get("existing"):
                yield file, name, resource


def test_the_function_app_sets_no_site_property_flex_consumption_refuses(bicep_files):
    plans = [
        body(r)[0]
        for _, _, r in _resources(bicep_files, "Microsoft.Web/serverfarms")
        if body(r)[0].get("sku", {}).get("tier") == "FlexConsumption"
    ]
    sites = list(_resources(bicep_files, "Microsoft.Web/sites"))

    assert plans and sites  # every site here runs on the Flex Consumption plan
    for file, name, site in sites:
        site_config = body(site)[0].get("properties", {}).get("siteConfig", {})
        refused = {k.lower() for k in FLEX_REFUSED_SITE_CONFIG}
        sent = sorted(k for k in site_config if k.lower() in refused)
        assert sent == [], f"{file.path} {name}: Flex Consumption refuses siteConfig {sent}"


def _loop_items(file: BicepFile, loop) -> list[dict]:
    detail = loop["detail"]
    items = file.evaluate(detail["array_name"], file.defaults())
    assert isinstance(items, list), f"{file.path}: cannot list the loop over {detail}"
    return [
        {
            detail["item_name"]: item,
            **({detail["index_name"]: i} if detail.get("index_name") else {}),
        }
        for i, item in enumerate(items)
    ]


def test_event_subscription_names_are_letters_digits_and_hyphens(bicep_files):
    checked = []
    for type_name in ("Microsoft.EventGrid/topics/eventSubscriptions",):
        for file, name, resource in _resources(bicep_files, type_name):
            config, _, loop = body(resource)
            for env in _loop_items(file, loop) if loop else [{}]:
                value = file.evaluate(config["name"], file.defaults(**env))
                assert value is not UNKNOWN, f"{file.path} {name}: name not fixed by the template"
                assert SUBSCRIPTION_NAME.fullmatch(value), f"{file.path} {name}: {value!r}"
                checked.append(value)

    assert len(checked) == 2


def test_a_locked_audit_retention_policy_is_never_sent_again(bicep_files, parameter_file):
    lake = bicep_files["modules/lake.bicep"]
    (policy,) = [
        r for r in lake.resources.values() if r["type"].endswith("/containers/immutabilityPolicies")
    ]
    _, condition, _ = body(policy)
    main = bicep_files["main.bicep"]
    passed = body(main.modules["lake"])[0]["params"]

    # A locked policy only accepts extend: create-or-update must not reach it once locked.
    assert condition is not None, "the immutability policy is sent on every provision"
    locked = [
        p for p in lake.parameters if lake.evaluate(condition, lake.defaults(**{p: True})) is False
    ]
    assert locked == ["auditRetentionLocked"]
    assert lake.evaluate(condition, lake.defaults(auditRetentionLocked=False)) is True
    # ... and the azd environment can say so (README step 6 sets it after locking).
    assert passed["auditRetentionLocked"] == "auditRetentionLocked"
    mapped = parameter_file["parameters"]["auditRetentionLocked"]["value"]
    assert mapped == "${CROSSWALK_AUDIT_RETENTION_LOCKED=false}"
    assert "azd env set CROSSWALK_AUDIT_RETENTION_LOCKED true" in " ".join(README.split())


@pytest.mark.parametrize(
    ("audience", "email", "created"),
    [("api-app-id", "", False), ("api-app-id", "ops@example.com", True), ("", "ops@e.com", False)],
)
def test_api_management_is_only_created_with_a_publisher_email(
    bicep_files, audience, email, created
):
    main = bicep_files["main.bicep"]
    _, condition, _ = body(main.modules["apim"])
    env = main.defaults(profileApiAudience=audience, apimPublisherEmail=email)
    gateway = main.parsed["outputs"]["PROFILE_API_GATEWAY_URL"]["value"]

    assert main.evaluate(condition, env) is created
    assert (main.evaluate(gateway, env) is UNKNOWN) is created  # apim.outputs only when created


def _is_secure(param) -> bool:
    return any(d.get("type") == "secure" for d in param.get("decorators") or [])


def test_a_parameter_azd_cannot_prompt_for_is_mapped_to_an_azd_value(bicep_files, parameter_file):
    main = bicep_files["main.bicep"]
    table = README[README.index("| parameter |") :].split("\n\n", 1)[0].splitlines()
    rows = {name: line for line in table for name in re.findall(r"`([a-zA-Z0-9]+)`", line[:60])}

    for name, param in main.parameters.items():
        # azd prompts only for parameters without a default and not in the parameter file
        # azd prompts for a parameter without a default whose value is missing or empty
        # (azure-dev #2896); one with a default takes the default instead.
        has_default = param.get("default") is not None
        prompted = not has_default
        if "prompted" in rows[name]:
            assert prompted, f"{name}: the README says azd prompts for it, azd never will"
        if _is_secure(param) and has_default:
            assert name in parameter_file["parameters"], f"{name}: no way to set it through azd"


def test_easy_auth_keeps_no_token_store(bicep_files):
    auth = [
        body(r)[0]
        for _, _, r in _resources(bicep_files, "Microsoft.Web/sites/config")
        if body(r)[0]["name"] == "authsettingsV2"
    ]
    app_code = "".join(
        p.read_text() for d in ("crosswalk", "triggers") for p in (ROOT / d).rglob("*.py")
    )

    assert len(auth) == 1
    store = auth[0]["properties"].get("login", {}).get("tokenStore", {})
    # Flex Consumption has no shared file system; a store needs azureBlobStorage, and the app
    # would read tokens from /.auth/me or X-MS-TOKEN-* headers. It does neither.
    assert "/.auth/me" not in app_code and "X-MS-TOKEN-" not in app_code.upper()
    assert store.get("enabled") is False


def test_cosmos_throughput_allows_only_what_cosmos_db_takes(bicep_files):
    main = bicep_files["main.bicep"]
    allowed = literal_decorator(main.parameters["cosmosThroughput"], "allowed")

    # Autoscale: the maximum is at least 1,000 RU/s, in steps of 1,000; 0 means serverless.
    assert allowed, "cosmosThroughput accepts any number; Cosmos DB refuses most"
    assert 0 in allowed and 1000 in allowed
    assert all(v == 0 or (v >= 1000 and v % 1000 == 0) for v in allowed), allowed
    output = main.parsed["outputs"]["COSMOS_CAPACITY_MODE"]["value"]
    assert main.evaluate(output, main.defaults(cosmosThroughput=0)) == "serverless"
    assert main.evaluate(output, main.defaults(cosmosThroughput=4000)) == "provisioned"


def _preprovision(env: dict[str, str]) -> subprocess.CompletedProcess:
    hook = yaml.safe_load((ROOT / "azure.yaml").read_text())["hooks"]["preprovision"]["posix"]
    assert hook["shell"] == "sh"
    return subprocess.run(
        ["sh", "-c", hook["run"]],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("before", "throughput", "allowed"),
    [
        ("", "0", True),  # first provision
        ("", "4000", True),
        ("serverless", "0", True),
        ("provisioned", "4000", True),
        ("provisioned", "8000", True),  # a new autoscale maximum is fine
        ("serverless", "4000", False),  # Cosmos DB refuses either switch
        ("provisioned", "0", False),
    ],
)
def test_the_preprovision_hook_refuses_switching_the_cosmos_capacity_mode(
    before, throughput, allowed
):
    env = {"CROSSWALK_COSMOS_THROUGHPUT": throughput}
    if before:
        env["COSMOS_CAPACITY_MODE"] = before  # main.bicep's output, kept by azd

    done = _preprovision(env)

    assert (done.returncode == 0) is allowed, done.stderr
    if not allowed:
        assert "cannot switch" in done.stderr and before in done.stderr


def test_a_dedicated_scheduler_is_sent_with_its_capacity(bicep_files):
    dts = bicep_files["modules/durable-scheduler.bicep"]
    (scheduler,) = [r for r in dts.resources.values() if r["type"].endswith("/schedulers")]
    sku = body(scheduler)[0]["properties"]["sku"]

    dedicated = dts.evaluate(sku, dts.defaults(sku="Dedicated", capacity=2))
    consumption = dts.evaluate(sku, dts.defaults(sku="Consumption"))

    assert dedicated == {"name": "Dedicated", "capacity": 2}
    assert consumption == {"name": "Consumption"}
    main = bicep_files["main.bicep"]
    assert body(main.modules["scheduler"])[0]["params"]["capacity"] == "schedulerCapacity"


def test_api_management_imports_an_openapi_30_document(bicep_files):
    apim = bicep_files["modules/apim.bicep"]
    (api,) = [r for r in apim.resources.values() if r["type"].endswith("/service/apis")]
    properties = body(api)[0]["properties"]
    loaded = properties["value"]["function"]

    assert loaded["type"] == "load_text_content"
    document = json.loads(
        (ROOT / "infra" / "modules" / loaded["parameters"]["file_path"]).read_text()
    )
    # API Management imports OpenAPI 3.1 with caveats only; 3.0 is what it fully supports.
    assert properties["format"] == "openapi+json"
    assert document["openapi"].startswith("3.0.")


def test_the_d2c_publisher_is_made_data_sender_on_the_d2c_topic_only_when_named(bicep_files):
    events = bicep_files["modules/events.bicep"]
    grants = [
        r
        for r in events.resources.values()
        if r["type"] == "Microsoft.Authorization/roleAssignments"
        and "d2cPublisherPrincipalId" in str(body(r)[0]["properties"]["principalId"])
    ]
    (grant,) = grants
    config, condition, _ = body(grant)
    passed = body(bicep_files["main.bicep"].modules["events"])[0]["params"]

    assert events.evaluate(condition, events.defaults(d2cPublisherPrincipalId="")) is False
    assert events.evaluate(condition, events.defaults(d2cPublisherPrincipalId="1f0e")) is True
    scope = config["scope"]["operator"]["operands"]
    assert (scope["operand_1"], scope["operand_2"]) == ("topic", 1)  # D2C's, not Salesforce's
    assert "eventGridDataSender" in str(config["properties"]["roleDefinitionId"])
    assert passed["d2cPublisherPrincipalId"] == "d2cPublisherPrincipalId"
