"""`make run`: the whole local stack with demo data, in one terminal.

Starts the sandbox (Salesforce with its Pub/Sub API, D2C, Entra ID and Event Grid stand-ins,
seeded) in this process and devhost on the app as a child process, prints the URLs and things
to try, and stops both on Ctrl-C. Events take the production path: Salesforce changes go
through the Pub/Sub API to the app's relay, which publishes them to the Salesforce topic; D2C
publishes to the D2C topic; each topic delivers to the app's Event Grid trigger. The relay's
progress is printed as "relay ▸". State lives under .crosswalk/ (git-ignored): delete it to
start over.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sandbox  # noqa: E402
from crosswalk.support.auth import Role, make_dev_token  # noqa: E402
from sandbox.entra.directory import STOREFRONT_CLIENT_ID, STOREFRONT_CLIENT_SECRET  # noqa: E402
from sandbox.eventgrid.deadletter import FolderDestination  # noqa: E402
from sandbox.eventgrid.delivery import Subscription  # noqa: E402
from scripts.localstack import (  # noqa: E402
    WebhookSink,
    app_env,
    d2c_topic_env,
    onboardable_accounts,
    relay_env,
)

PORTS = (  # (flag, `make run` variable, what listens there, default)
    ("port", "PORT", "the app (devhost)", 7071),
    ("salesforce_port", "SALESFORCE_PORT", "the Salesforce sandbox", 8443),
    ("d2c_port", "D2C_PORT", "the D2C sandbox", 8082),
)


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=int(os.environ.get("CROSSWALK_PORT", 7071)))
    p.add_argument("--salesforce-port", type=int, default=8443)
    p.add_argument("--d2c-port", type=int, default=8082)
    p.add_argument("--seed", type=int, default=40, help="demo accounts to create")
    p.add_argument("--data", type=Path, default=ROOT / ".crosswalk")
    return p.parse_args()


def _port_taken(port: int) -> bool:
    """Does something listen on `port`? Connections the last run left in TIME_WAIT do not
    count: the servers bind with SO_REUSEADDR, and so does the probe."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _ports_free(args: argparse.Namespace) -> bool:
    """Say which ports are taken, and how to choose others, before anything starts."""
    taken = [(var, what, getattr(args, flag)) for flag, var, what, _ in PORTS]
    taken = [(var, what, port) for var, what, port in taken if _port_taken(port)]
    for _, what, port in taken:
        print(
            f"make run: port {port} for {what} is already taken on 127.0.0.1 "
            f"(another `make run`, or another program).",
            file=sys.stderr,
        )
    if taken:
        choice = " ".join(f"{var}={default + 1}" for _, var, _, default in PORTS)
        print(
            f"Stop what holds it, or choose other ports: make run {choice}\n"
            "(or scripts/run_stack.py --port N --salesforce-port N --d2c-port N)",
            file=sys.stderr,
        )
    return not taken


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"devhost exited with {process.returncode}; see its output above")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"devhost did not answer at {url} within {timeout:.0f} s")


def _demo_accounts(sb: sandbox.Sandbox) -> tuple[str | None, str | None]:
    plain = onboardable_accounts(sb, needs_approval=False)
    waiting = onboardable_accounts(sb, needs_approval=True)
    return (plain[0]["Id"] if plain else None), (waiting[0]["Id"] if waiting else None)


def _print_chat(message: dict[str, Any]) -> None:
    text = str(message.get("text", "")).replace("**", "").replace("\n\n", "\n       ")
    print(f"\nchat ▸ {text}\n", flush=True)


def _watch_relay(checkpoints: Path, stop: threading.Event) -> None:
    """Print a line whenever the relay moves a checkpoint past new events: what it relayed
    and its lag (commit in Salesforce -> accepted by the topic)."""
    seen: dict[str, int] = {}
    while not stop.wait(1.0):
        for path in sorted(checkpoints.glob("*.json")):
            try:
                doc = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            relayed = int(doc.get("relayed") or 0)
            if seen.get(path.name, 0) != relayed or (path.name not in seen and doc.get("replayId")):
                lag = doc.get("lastLagMs")
                lag_text = "-" if lag is None else f"{lag} ms"
                error = doc.get("lastError")
                print(
                    f"relay ▸ {doc.get('topic')}: {relayed} relayed, lag {lag_text}"
                    + (f", last error {error['kind']}: {error['message']}" if error else ""),
                    flush=True,
                )
                seen[path.name] = relayed


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # Ctrl-C stops everything, even when started from a shell that ignores SIGINT for its
    # background jobs (a child inherits that, and Python then keeps ignoring it)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>`: where each thread is, on stderr
    args = _parse()
    if not _ports_free(args):
        return 2
    args.data.mkdir(parents=True, exist_ok=True)
    app_url = f"http://127.0.0.1:{args.port}"
    events = f"{app_url}/runtime/webhooks/eventgrid?functionName=salesforce_change_events"
    d2c_events = f"{app_url}/runtime/webhooks/eventgrid?functionName=d2c_events"
    with (
        contextlib.ExitStack() as stack,
        sandbox.run(
            seed=args.seed,
            data_dir=args.data / "sandbox",
            salesforce_port=args.salesforce_port,
            d2c_port=args.d2c_port,
            # both stand-ins keep their records in data/sandbox/state.json, saved on stop, as
            # devhost keeps its task hub and the app its profiles: a restart agrees with itself
            persist=True,
        ) as sb,
    ):
        # the production path: each topic delivers to its Event Grid trigger; D2C publishes
        # to its topic, Salesforce's changes reach theirs through the relay (RELAY_*). What a
        # topic cannot deliver is dead-lettered, as in Azure, to the container folder beside
        # the lake (LAKE_EVENTGRID_DEADLETTER_CONTAINER), where the support console lists it.
        dead_letters = args.data / "eventgrid-deadletter"
        dead_letters.mkdir(exist_ok=True)
        for topic, url in (("salesforce", events), ("d2c", d2c_events)):
            destination = FolderDestination(dead_letters)
            sb.eventgrid.subscribe(
                topic, Subscription(f"crosswalk-{topic}", url, dead_letter=destination)
            )
        sb.publish_events_to_topics(d2c=True)
        # the support console signs in with a development token (App Service auth in Azure)
        support_key = os.environ.get("SUPPORT_DEV_TOKEN_KEY") or secrets.token_hex(32)
        support = {
            "SUPPORT_AUTH_MODE": "dev_token",
            "SUPPORT_DEV_TOKEN_KEY": support_key,
            "SUPPORT_AUDIT_SQLITE_PATH": str(args.data / "audit.sqlite3"),
        }
        # the chat channel: approvals and undo failures are printed here (a Teams or Slack
        # incoming webhook in Azure, NOTIFY_WEBHOOK_URL)
        chat = stack.enter_context(WebhookSink(on_message=_print_chat))
        notify = {
            "NOTIFY_WEBHOOK_URL": chat.url,
            "NOTIFY_CONSOLE_URL": f"{app_url}/api/support/console",
        }
        topics = {**relay_env(sb), **d2c_topic_env(sb)}
        env = {**support, **notify, **os.environ, **app_env(sb, args.data, **topics)}
        stop_watch = threading.Event()
        stack.callback(stop_watch.set)
        threading.Thread(
            target=_watch_relay,
            args=(args.data / "lake" / "relay" / "checkpoints", stop_watch),
            daemon=True,
        ).start()
        token = make_dev_token(support_key, "you@example.com", list(Role), ttl_seconds=7 * 86400)
        host = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devhost",
                str(ROOT),
                "--port",
                str(args.port),
                "--data",
                str(args.data / "devhost"),
            ],
            env=env,
        )
        try:
            _wait_until_up(f"{app_url}/runtime/webhooks/durabletask/instances", host)
            plain, waiting = _demo_accounts(sb)
            print(
                f"""
Crosswalk is running.
  app (devhost)        {app_url}/api/...
  durable HTTP API     {app_url}/runtime/webhooks/durabletask/instances
  Salesforce sandbox   {sb.salesforce_url}  (CA bundle {sb.ca_bundle})
  D2C sandbox          {sb.d2c_url}
  Entra ID sandbox     {sb.entra_url}  (tokens for the profile API)
  Pub/Sub API sandbox  {sb.pubsub_target}  (gRPC over TLS; the relay subscribes here)
  Event Grid sandbox   {sb.eventgrid.endpoint("salesforce")}
                       {sb.eventgrid.endpoint("d2c")}
  relay                in the app (timer salesforce_relay); "relay ▸" lines show its lag
  state                {args.data}  (delete it to start over)
  support console      {app_url}/api/support/console  (paste this token when asked:)
                       {token}

Try:
  1. onboard an account:
     curl -s -X POST {app_url}/api/accounts/{plain}/onboard
  2. onboard one that needs approval, then approve it as the signed-in you@example.com
     (use the "id" the first call returns; or press Approve in the console):
     curl -s -X POST {app_url}/api/accounts/{waiting}/onboard
     curl -s -X POST {app_url}/api/support/approvals/<id> \\
          -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
          -d '{{"decision":"approve","reason":"known customer"}}'
     (TOKEN is the console token above)
  3. watch a compensation: make D2C refuse user invites, then onboard another account
     curl -s -X POST {sb.d2c_url}/__sandbox/faults -H 'Content-Type: application/json' \\
          -d '{{"path":"/users$","method":"POST","status":422}}'
     curl -s -X POST {app_url}/api/accounts/<another account id>/onboard
  4. read profiles as the storefront's backend does (OAuth 2.0 client credentials):
     PROFILE_TOKEN=$(curl -s --cacert {sb.ca_bundle} {sb.entra.token_url} \\
          -d grant_type=client_credentials \\
          -d client_id={STOREFRONT_CLIENT_ID} -d client_secret={STOREFRONT_CLIENT_SECRET} \\
          -d scope={sb.entra.api_identifier_uri}/.default | python3 -c \\
          'import json,sys; print(json.load(sys.stdin)["access_token"])')
     curl -s {app_url}/api/profiles -H "Authorization: Bearer $PROFILE_TOKEN"
     curl -s {app_url}/api/profiles/{plain} -H "Authorization: Bearer $PROFILE_TOKEN"
  Follow any instance with the statusQueryGetUri the start returns. Messages for people
  (approval waiting, undo failing) appear here as "chat ▸".

Ctrl-C stops everything.""",
                flush=True,
            )
            host.wait()
        except KeyboardInterrupt:
            pass
        finally:
            # a second Ctrl-C (or SIGTERM) must not cut the shutdown short: the sandbox saves
            # its state when the `with` closes it, after devhost has stopped
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if host.poll() is None:
                host.send_signal(signal.SIGINT)
                try:
                    host.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    host.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
