"""Activities touch the world: one module per outside system.

Each activity takes and returns JSON-shaped dicts, and lets only classified errors
(crosswalk.errors) escape, so the orchestrator can tell transient from permanent by the tag
in the failure text.

Every activity runs inside a span of its own (crosswalk.telemetry.traced_activity): the
blueprint wraps each function as it registers it, so no activity repeats that.
"""

from collections.abc import Callable
from typing import Any

import azure.durable_functions as df
from azure.functions.decorators.function_app import FunctionBuilder

from crosswalk.telemetry import traced_activity


class _TracedBlueprint(df.Blueprint):
    """A blueprint whose activities each run in a span carrying their workflow's correlation."""

    def activity_trigger(self, input_name: str, activity: str | None = None) -> Callable[..., Any]:
        register = super().activity_trigger(input_name=input_name, activity=activity)

        def decorator(fn: Any) -> Any:
            if not isinstance(fn, FunctionBuilder):
                fn = traced_activity(fn, input_name, activity)
            return register(fn)

        return decorator


bp = _TracedBlueprint()

# The modules register their functions on `bp` when imported.
from activities import (  # noqa: E402, F401
    d2c,
    erasure,
    erasure_task_hub,
    lake,
    lookup_repair,
    notify,
    onboard_batch,
    people,
    profiles,
    reconcile_bulk,
    reconcile_bulk_scan,
    reconcile_scan,
    reconciliation,
    salesforce,
    workflows,
)
