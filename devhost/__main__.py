"""`python -m devhost [APP_DIR] [--port 7071] [--data DIR]`: serve an app until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from devhost.index import UnsupportedBinding
from devhost.server import Host
from devhost.workers import WorkerError


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("app_dir", nargs="?", default=".", help="folder with function_app.py")
    parser.add_argument("--port", type=int, default=7071, help="0 picks a free port")
    parser.add_argument("--data", default=None, help="task hub folder (APP_DIR/.devhost)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (2)")
    parser.add_argument("--enforce-keys", action="store_true", help="require function keys")
    parser.add_argument("--quiet", action="store_true", help="no per-execution log lines")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> int:
    host = Host(
        args.app_dir,
        port=args.port,
        data_dir=args.data,
        workers=args.workers,
        enforce_keys=args.enforce_keys,
    )
    try:
        await host.start()
    except (UnsupportedBinding, WorkerError, RuntimeError) as exc:
        logging.getLogger("devhost").error("cannot start: %s", exc)
        return 2
    print(f"devhost listening on {host.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await host.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    return asyncio.run(_serve(args))


if __name__ == "__main__":
    sys.exit(main())
