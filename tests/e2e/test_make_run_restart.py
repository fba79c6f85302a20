"""`make run` stopped by a signal and started again: both stand-ins come back with what the app
did before the stop, on the same ports, as devhost's task hub and the profile store do."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.azurite import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
READY = "Ctrl-C stops everything."


class LocalStack:
    """`scripts/run_stack.py` (what `make run` runs) as a child process, output collected."""

    def __init__(self, data: Path, ports: dict[str, int]) -> None:
        self.ports = ports
        self.output: list[str] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSWALK_PORT")}
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "scripts" / "run_stack.py"),
                "--port",
                str(ports["app"]),
                "--salesforce-port",
                str(ports["salesforce"]),
                "--d2c-port",
                str(ports["d2c"]),
                "--data",
                str(data),
                "--seed",
                "8",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # its own process group: close() stops devhost and its workers with it, so no
            # grandchild keeps the output pipe (and the reader thread) open after the test
            start_new_session=True,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.app = f"http://127.0.0.1:{ports['app']}"
        self.d2c = f"http://127.0.0.1:{ports['d2c']}"
        self.salesforce = requests.Session()  # closed by close()
        self.salesforce.verify = str(data / "sandbox" / "ca.pem")
        self.salesforce.trust_env = False
        self.salesforce_url = f"https://127.0.0.1:{ports['salesforce']}"

    def wait_ready(self) -> LocalStack:
        _wait(lambda: READY in self.text() or self.process.poll() is not None, 120, "start")
        assert READY in self.text(), self.text()
        return self

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def customers(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.d2c}/__sandbox/d2c/customers", timeout=10).json()["data"]

    def account(self, account_id: str) -> dict[str, Any]:
        url = f"{self.salesforce_url}/__sandbox/salesforce/records/Account/{account_id}"
        return self.salesforce.get(url, timeout=10).json()

    def stop(self, signum: int) -> int:
        if signum:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)  # run_stack.py dumps its threads' stacks
            time.sleep(2)
            raise AssertionError(f"the stack did not stop; its output:\n{self.text()}") from None

    def ctrl_c(self) -> int:
        """What Ctrl-C in a terminal does: SIGINT to the whole foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)
        return self.stop(0)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)  # ends: no process of the group holds the pipe now
        assert self.process.stdout is not None
        self.process.stdout.close()
        self.salesforce.close()


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def local_stack(tmp_path: Path) -> Iterator[Callable[[], LocalStack]]:
    ports = {"app": free_port(), "salesforce": free_port(), "d2c": free_port()}
    started: list[LocalStack] = []

    def start() -> LocalStack:
        started.append(LocalStack(tmp_path / "crosswalk", ports))
        return started[-1].wait_ready()

    yield start
    for stack in started:
        stack.close()


def test_a_stack_stopped_by_a_signal_starts_again_with_both_stand_ins_as_they_were(local_stack):
    first = local_stack()
    account = re.search(r"/api/accounts/(\w+)/onboard", first.text()).group(1)  # type: ignore[union-attr]
    assert requests.post(f"{first.app}/api/accounts/{account}/onboard", timeout=30).ok
    _wait(lambda: first.account(account)["D2C_Customer_Id__c"], 90, "the onboarding")
    customer = first.account(account)["D2C_Customer_Id__c"]

    assert first.ctrl_c() == 0
    assert "Traceback" not in first.text()  # every process of the stack stops quietly
    assert "Unclosed" not in first.text()
    second = local_stack()  # the same ports, straight away

    assert [c["id"] for c in second.customers()] == [customer]
    assert second.customers()[0]["salesforce"]["account_id"] == account
    assert second.account(account)["D2C_Customer_Id__c"] == customer
    assert second.stop(signal.SIGTERM) == 0
    saved = json.loads((Path(second.salesforce.verify).parent / "state.json").read_text())
    assert [c["id"] for c in saved["d2c"]["customers"]] == [customer]
