"""devhost: a local Azure Functions + Durable Functions host with a SQLite task hub.

The host process (server, task hub, dispatchers) never imports the app; function code runs
in worker subprocesses (`devhost.worker`) so each host has its own environment and app.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
