"""A cancel does not depend on how soon the termination lands.

On Azure Storage a terminate is a control-queue message that an idle app may poll only every
30 s (longer after scale to zero). devhost plays that with DEVHOST_TERMINATE_DELAY_SECONDS on
the virtual clock: here every terminate lands 40 s after it was accepted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import OPERATE, SupportStack, support_stack

pytestmark = pytest.mark.slow
DEACTIVATE = "POST /v1/customers/{customerId}/deactivate"


@pytest.fixture(scope="module")
def late_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupportStack]:
    overrides = {
        "DEVHOST_TERMINATE_DELAY_SECONDS": "40",
        # a failed invite waits 100 s before its retry: the onboarding is still mid-saga
        # when the late termination lands
        "RETRY_FIRST_INTERVAL_SECONDS": "100",
        "RETRY_MAX_ATTEMPTS": "3",
    }
    with support_stack(tmp_path_factory.mktemp("late"), seed=113, **overrides) as running:
        yield running


def test_a_cancel_whose_termination_lands_40_s_late_still_undoes_exactly_once(late_stack):
    stack = late_stack
    account = next(stack.plain)
    stack.sb.faults("d2c", path=r"/users$", method="POST", status=503, fail_next=10)
    instance_id = stack.onboard(account["Id"])
    stack.eventually(
        instance_id,
        lambda s: (
            (s.get("customStatus") or {}).get("step") == "d2c_invite_user"
            and s.get("runtimeStatus") == "Running"
        ),
    )

    first = stack.post(f"instances/{instance_id}/cancel", {"reason": "wrong account"}, OPERATE)
    still_running = stack.host.status(instance_id)["runtimeStatus"]
    second = stack.post(f"instances/{instance_id}/cancel", {"reason": "again"}, OPERATE)
    stack.host.advance(40)  # the termination lands now
    assert stack.finished(instance_id)["runtimeStatus"] == "Terminated"
    stack.host.advance(60)  # the cancel's next look at the instance is due
    cancel_id = first.json()["cancelInstanceId"]
    undo = stack.finished(cancel_id)

    assert first.status == 202 and second.status == 202, (first.text, second.text)
    assert still_running == "Running"
    assert first.json()["alreadyRequested"] is False
    assert second.json()["alreadyRequested"] is True
    assert second.json()["cancelInstanceId"] == cancel_id
    assert undo["output"]["outcome"] == "compensated", undo
    assert undo["output"]["ledger"]["compensated"] == [{"step": "d2c_deactivate_customer"}]
    customers = [c for c in stack.sb.d2c_customers() if c["external_ref"] == account["Id"]]
    assert [c["status"] for c in customers] == ["deactivated"]
    assert stack.sb.stats()["d2c"]["calls"].get(DEACTIVATE) == 1
    assert stack.entity(account["Id"])["status"] == "compensated"
