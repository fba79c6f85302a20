"""Activities touch the world: one module per outside system.

Each activity takes and returns JSON-shaped dicts, and lets only classified errors
(crosswalk.errors) escape, so the orchestrator can tell transient from permanent by the tag
in the failure text.
"""

import azure.durable_functions as df

bp = df.Blueprint()

# The modules register their functions on `bp` when imported.
from activities import (  # noqa: E402, F401
    d2c,
    lake,
    notify,
    profiles,
    reconciliation,
    salesforce,
    workflows,
)
