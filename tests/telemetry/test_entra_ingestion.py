"""Telemetry with the app's identity: with APPLICATIONINSIGHTS_AUTHENTICATION_STRING set to
`Authorization=AAD`, the Azure Monitor exporter the distro uses sends with the managed identity
(the real ManagedIdentityCredential, from App Service's identity endpoint stand-in) to an
ingestion endpoint that has local auth off; without it, the same endpoint refuses."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from azure.identity import ManagedIdentityCredential
from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import sandbox
from crosswalk.settings import TelemetrySettings
from crosswalk.telemetry.setup import azure_monitor_credential
from sandbox.appinsights import IngestionStandIn
from sandbox.keyvault import KeyVaultStandIn
from sandbox.tls import load_key_material


@pytest.fixture(scope="module")
def sb():
    with sandbox.run(seed=3) as running:
        yield running


@pytest.fixture
def azure(sb, monkeypatch):
    """The identity endpoint (with the app's identity) and the ingestion endpoint."""
    keys = load_key_material(Path(sb.data_dir))
    monkeypatch.setenv("APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL", "true")  # no side traffic
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED", "true")
    monkeypatch.setenv("APPLICATIONINSIGHTS_SDKSTATS_DISABLED", "true")
    with (
        KeyVaultStandIn(sb.entra, keys.server_ssl) as identity,
        IngestionStandIn(sb.entra, keys.server_ssl) as ingestion,
    ):
        for name, value in identity.identity_environment().items():
            monkeypatch.setenv(name, value)
        ingestion.publishers.add(identity.app_object_id)  # Monitoring Metrics Publisher
        yield identity, ingestion


def _settings(ingestion: IngestionStandIn, authentication: str | None) -> TelemetrySettings:
    return TelemetrySettings(
        applicationinsights_connection_string=(
            f"InstrumentationKey={uuid.uuid4()};IngestionEndpoint={ingestion.url}/"
        ),
        applicationinsights_authentication_string=authentication,
    )


def _spans():
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("test").start_as_current_span("onboard account"):
        pass
    return memory.get_finished_spans()


def _export(settings: TelemetrySettings, ca_bundle: str) -> SpanExportResult:
    assert settings.applicationinsights_connection_string is not None
    exporter = AzureMonitorTraceExporter(
        connection_string=settings.applicationinsights_connection_string.get_secret_value(),
        credential=azure_monitor_credential(settings),  # what setup.configure hands the distro
        disable_offline_storage=True,
        connection_verify=ca_bundle,
    )
    try:
        return exporter.export(_spans())
    finally:
        exporter.shutdown()


def test_the_authentication_string_makes_telemetry_go_with_the_apps_identity(sb, azure):
    identity, ingestion = azure
    settings = _settings(ingestion, "Authorization=AAD")

    assert isinstance(azure_monitor_credential(settings), ManagedIdentityCredential)
    assert _export(settings, sb.ca_bundle) is SpanExportResult.SUCCESS
    assert [e["data"]["baseData"]["name"] for e in ingestion.envelopes] == ["onboard account"]
    assert ingestion.refused == []


def test_without_it_ingestion_with_local_auth_off_refuses(sb, azure):
    _, ingestion = azure
    settings = _settings(ingestion, None)

    assert azure_monitor_credential(settings) is None
    assert _export(settings, sb.ca_bundle) is SpanExportResult.FAILURE
    assert ingestion.envelopes == [] and ingestion.refused[0] == 401


def test_an_identity_without_the_publisher_role_is_refused(sb, azure):
    identity, ingestion = azure
    ingestion.publishers.discard(identity.app_object_id)

    assert (
        _export(_settings(ingestion, "Authorization=AAD"), sb.ca_bundle) is SpanExportResult.FAILURE
    )
    assert ingestion.refused[0] == 403


def test_a_user_assigned_identity_is_named_by_its_client_id():
    client_id = str(uuid.uuid4())
    settings = TelemetrySettings(
        applicationinsights_authentication_string=f"ClientId={client_id};Authorization=AAD"
    )

    credential = azure_monitor_credential(settings)

    assert isinstance(credential, ManagedIdentityCredential)
    with pytest.raises(ValueError):
        TelemetrySettings(applicationinsights_authentication_string="Authorization=Key")
