"""``python -m sandbox``: run both stand-ins until Ctrl-C, printing URLs and dev credentials."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from .api import DEFAULT_DAILY_API_LIMIT, Sandbox
from .persist import STATE_FILE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Local Salesforce (REST over HTTPS, Pub/Sub API over gRPC), D2C, Entra ID "
        "and Event Grid stand-ins.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--salesforce-port", type=int, default=8443)
    p.add_argument("--d2c-port", type=int, default=8082)
    p.add_argument("--entra-port", type=int, default=8083, help="the Entra ID stand-in")
    strict = p.add_argument_group("org settings (docs/sandbox.md, Salesforce's rules)")
    strict.add_argument(
        "--restricted-picklists",
        default="",
        help="comma-separated Object.Field picklists that refuse unknown values",
    )
    strict.add_argument("--state-country-picklists", action="store_true")
    strict.add_argument("--duplicate-rules", action="store_true", help="Contact and Lead")
    p.add_argument("--pubsub-port", type=int, default=7443, help="the Pub/Sub API (gRPC)")
    p.add_argument("--eventgrid-port", type=int, default=8084, help="the Event Grid topics")
    p.add_argument("--seed", type=int, default=0, help="create N Accounts with 1-4 Contacts each")
    p.add_argument(
        "--seed-contacts", type=int, default=None, help="Contacts per seeded Account (default 1-4)"
    )
    p.add_argument("--events-to", help="webhook URL for both services' CloudEvents")
    p.add_argument("--salesforce-events-to", help="webhook URL for Salesforce change events")
    p.add_argument("--d2c-events-to", help="webhook URL for D2C customer events")
    p.add_argument("--data", default=".sandbox", help="folder for the CA bundle and JWT key (kept)")
    p.add_argument(
        "--fresh", action="store_true", help="ignore the data saved in --data by the last run"
    )
    p.add_argument("--api-version", default="59.0")
    p.add_argument(
        "--api-allowance",
        "--daily-api-limit",
        dest="daily_api_limit",
        type=int,
        default=DEFAULT_DAILY_API_LIMIT,
        help="the org's API requests per rolling 24 hours (small values run an org dry)",
    )
    return p.parse_args(argv)


def org_rules(args: argparse.Namespace) -> dict[str, Any]:
    """The org settings the command line switches on (Sandbox.salesforce_org_rules)."""
    return {
        "restricted_picklists": [n.strip() for n in args.restricted_picklists.split(",") if n],
        "state_country_picklists": args.state_country_picklists,
        "duplicate_rules": args.duplicate_rules,
    }


def banner(sb: Sandbox) -> str:
    info = sb.info()
    lines = [
        "Crosswalk sandbox is running (Ctrl-C stops it).",
        f"  Salesforce  {info['salesforce_url']}  (login URL and instance URL, HTTPS)",
        f"  D2C         {info['d2c_url']}",
        f"  Entra ID    {info['entra_url']}  (profile API and Event Grid tokens, HTTPS)",
        f"  Pub/Sub API {info['pubsub_target']}  (gRPC over TLS)",
        f"  Event Grid  {', '.join(info['eventgrid_endpoints'].values())}",
        f"  CA bundle   {info['ca_bundle']}",
        f"  control     {info['salesforce_url']}/__sandbox/..., {info['d2c_url']}/__sandbox/...",
        "",
        "Settings for local.settings.json:",
        f"SALESFORCE_LOGIN_URL={info['salesforce_url']}",
        f"SALESFORCE_API_VERSION={info['api_version']}",
        f"SALESFORCE_CLIENT_ID={info['salesforce_client_id']}",
        f"SALESFORCE_CLIENT_SECRET={info['salesforce_client_secret']}",
        f"SALESFORCE_USERNAME={info['jwt_username']}",
        f"SALESFORCE_PRIVATE_KEY_PATH={info['jwt_private_key_path']}",
        f"SALESFORCE_CA_BUNDLE={info['ca_bundle']}",
        f"SALESFORCE_INTEGRATION_USER_ID={info['integration_user_id']}",
        f"D2C_BASE_URL={info['d2c_url']}",
        f"D2C_TOKEN={info['d2c_token']}",
        f"D2C_STOREFRONT_TOKEN={info['d2c_storefront_token']}",
        f"PROFILE_API_AUTHORITY={info['entra_url']}",
        f"PROFILE_API_TENANT_ID={info['entra_tenant_id']}",
        f"PROFILE_API_AUDIENCE={info['profile_api_audience']}",
        f"PROFILE_API_CA_BUNDLE={info['ca_bundle']}",
        "RELAY_ENABLED=true",
        f"RELAY_PUBSUB_ENDPOINT={info['pubsub_target']}",
        f"RELAY_CA_BUNDLE={info['ca_bundle']}",
        f"RELAY_EVENT_GRID_ENDPOINT={info['eventgrid_endpoints']['salesforce']}",
        f"RELAY_EVENT_GRID_KEY={info['eventgrid_keys']['salesforce']}",
        f"RELAY_EVENT_GRID_CA_BUNDLE={info['ca_bundle']}",
        f"D2C_EVENT_GRID_ENDPOINT={info['eventgrid_endpoints']['d2c']}",
        f"D2C_EVENT_GRID_KEY={info['eventgrid_keys']['d2c']}",
        f"D2C_EVENT_GRID_CA_BUNDLE={info['ca_bundle']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.fresh:
        (Path(args.data) / STATE_FILE).unlink(missing_ok=True)
    sb = Sandbox(
        seed=args.seed,
        events_to=args.events_to,
        salesforce_events_to=args.salesforce_events_to,
        d2c_events_to=args.d2c_events_to,
        data_dir=args.data,
        api_version=args.api_version,
        daily_api_limit=args.daily_api_limit,
        host=args.host,
        salesforce_port=args.salesforce_port,
        d2c_port=args.d2c_port,
        entra_port=args.entra_port,
        pubsub_port=args.pubsub_port,
        eventgrid_port=args.eventgrid_port,
        persist=True,
        seed_contacts=args.seed_contacts,
    )
    try:
        sb.start()
    except OSError as exc:
        print(f"sandbox: cannot listen: {exc}", file=sys.stderr)
        sb.close()
        return 1
    sb.salesforce_org_rules(**org_rules(args))
    print(banner(sb), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    sb.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
