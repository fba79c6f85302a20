"""The Functions app: one DFApp, one blueprint per role folder, and telemetry set up once."""

import azure.durable_functions as df
import azure.functions as func

from crosswalk.settings import TelemetrySettings, load_group
from crosswalk.telemetry import configure

# App start: exporters only when APPLICATIONINSIGHTS_CONNECTION_STRING or
# OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise nothing is installed.
configure(load_group(TelemetrySettings))

from activities import bp as activities_bp  # noqa: E402
from entities import bp as entities_bp  # noqa: E402
from orchestrators import bp as orchestrators_bp  # noqa: E402
from triggers import bp as triggers_bp  # noqa: E402

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (orchestrators_bp, activities_bp, entities_bp, triggers_bp):
    app.register_functions(blueprint)
