"""The private-network variant, one parameter away (privateNetworking): every data service the
app reaches (host storage, lake, Cosmos DB, Key Vault) gets a private endpoint for each
sub-resource the app uses, registered in the privatelink zone its host name resolves through,
with public network access off; the Function App is integrated with the network; and what
stays public is what must (README, "Which variant")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.bicep_schema import TYPES_MISSING, types_root
from scripts.bicep_template import UNKNOWN, body

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()

# module in main.bicep -> the private endpoint sub-resources (groupIds) the app needs and the
# zone each resolves through (Learn: "Azure Private Endpoint private DNS zone values").
NEEDED = {
    "hostStorage": {
        "blob": "privatelink.blob.",
        "queue": "privatelink.queue.",
        "table": "privatelink.table.",
    },
    "lake": {"blob": "privatelink.blob.", "dfs": "privatelink.dfs."},
    "cosmos": {"Sql": "privatelink.documents.azure.com"},
    "keyVault": {"vault": "privatelink.vaultcore.azure.net"},
}
STORAGE_SUFFIX = "core.windows.net"


@pytest.fixture(scope="module")
def main(bicep_files):
    return bicep_files["main.bicep"]


def test_the_network_and_endpoints_exist_only_in_the_private_variant(main):
    for symbol in ("network", "privateEndpoints"):
        _, condition, _ = body(main.modules[symbol])
        assert main.evaluate(condition, main.defaults(privateNetworking=True)) is True
        assert main.evaluate(condition, main.defaults(privateNetworking=False)) is False


def test_every_data_service_has_a_private_endpoint_for_each_sub_resource_the_app_uses(main):
    zones = [z.replace("${storageSuffix}", STORAGE_SUFFIX) for z in main.variables["privateZones"]]
    found: dict[str, dict[str, str]] = {}
    for endpoint in body(main.modules["privateEndpoints"])[0]["params"]["endpoints"]:
        # resourceId: <module>.outputs.id
        module = endpoint["resourceId"]["operator"]["operands"]["operand_1"]
        found.setdefault(module, {})[endpoint["groupId"]] = zones[endpoint["zone"]]

    assert set(found) == set(NEEDED)
    for module, groups in NEEDED.items():
        assert set(found[module]) == set(groups), module
        for group, zone in groups.items():
            assert found[module][group].startswith(zone), (module, group, found[module][group])


@pytest.mark.parametrize(
    ("file", "symbol", "private_access"),
    [
        ("modules/host-storage.bicep", "account", "Disabled"),
        ("modules/cosmos.bicep", "account", "Disabled"),
        ("modules/keyvault.bicep", "vault", "Disabled"),
        # Event Grid dead-letters to the lake as a trusted service: Enabled behind Deny
        ("modules/lake.bicep", "account", "Enabled"),
    ],
)
def test_public_network_access_is_off_in_the_private_variant(
    bicep_files, main, file, symbol, private_access
):
    module = bicep_files[file]
    properties = body(module.resources[symbol])[0]["properties"]

    private = module.defaults(privateNetworking=True)
    public = module.defaults(privateNetworking=False)

    assert module.evaluate(properties["publicNetworkAccess"], private) == private_access
    assert module.evaluate(properties["publicNetworkAccess"], public) == "Enabled"
    if "networkAcls" in properties:
        assert module.evaluate(properties["networkAcls"], private)["defaultAction"] == "Deny"
        assert module.evaluate(properties["networkAcls"], public)["defaultAction"] == "Allow"
    passed = {m: body(main.modules[m])[0]["params"] for m in main.modules}
    owner = {
        "modules/host-storage.bicep": "hostStorage",
        "modules/cosmos.bicep": "cosmos",
        "modules/keyvault.bicep": "keyVault",
        "modules/lake.bicep": "lake",
    }[file]
    assert passed[owner]["privateNetworking"] == "privateNetworking"


def test_the_function_app_is_integrated_with_the_delegated_subnet(bicep_files, main):
    network = bicep_files["modules/network.bicep"]
    vnet = body(network.resources["vnet"])[0]
    app, endpoints = vnet["properties"]["subnets"]
    subnet = body(main.modules["functionApp"])[0]["params"]["subnetId"]
    site = body(bicep_files["modules/function-app.bicep"].resources["site"])[0]

    # Flex Consumption integrates with a subnet delegated to Microsoft.App/environments
    assert [d["properties"]["serviceName"] for d in app["properties"]["delegations"]] == [
        "Microsoft.App/environments"
    ]
    assert "natGateway" in app["properties"]  # new subnets have no default outbound access
    assert app["properties"]["defaultOutboundAccess"] is False
    assert endpoints["properties"]["privateEndpointNetworkPolicies"] == "Disabled"
    assert main.evaluate(subnet, main.defaults(privateNetworking=False)) == ""
    assert main.evaluate(subnet, main.defaults(privateNetworking=True)) is UNKNOWN  # the output
    assert "virtualNetworkSubnetId" in site["properties"]


@pytest.mark.skipif(types_root() is None, reason=TYPES_MISSING)
def test_the_durable_task_scheduler_without_a_private_endpoint_takes_only_the_nat_address(main):
    root = types_root()
    (dts_types,) = root.glob("*/microsoft.durabletask/2025-11-01/types.json")
    types = [n["name"] for n in json.loads(dts_types.read_text()) if n["$type"] == "ResourceType"]
    allowed = body(main.modules["scheduler"])[0]["params"]["allowedAddresses"]

    assert not any("privateEndpoint" in t for t in types)  # no private endpoint to use
    assert main.evaluate(allowed, main.defaults(privateNetworking=False)) == ["0.0.0.0/0"]
    assert main.evaluate(allowed, main.defaults(privateNetworking=True)) == [UNKNOWN]


def test_the_scheduler_dashboard_opens_from_the_ranges_people_name_in_the_private_variant(main):
    allowed = body(main.modules["scheduler"])[0]["params"]["allowedAddresses"]
    ranges = "203.0.113.0/24, 198.51.100.7/32"

    private = main.defaults(privateNetworking=True, schedulerDashboardAddresses=ranges)
    public = main.defaults(privateNetworking=False, schedulerDashboardAddresses=ranges)

    assert main.evaluate(allowed, private) == [UNKNOWN, "203.0.113.0/24", "198.51.100.7/32"]
    assert main.evaluate(allowed, public) == ["0.0.0.0/0"]


def test_the_readme_says_what_stays_public_and_why():
    section = README[README.index("**Which variant.**") :]
    section = section[: section.index("\n\n**", 10)]

    for public in (
        "Function App",
        "Event Grid",
        "Application Insights",
        "API Management",
        "Durable Task Scheduler",
    ):
        assert public in section, public
    assert "OUTBOUND_IP_ADDRESS" in section
