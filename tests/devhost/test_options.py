"""devhost's Azure-variability settings, read and applied."""

from __future__ import annotations

import pytest

from devhost.entities import client_signals_reversed
from devhost.options import HostOptions


def test_options_default_to_predictable_and_read_their_settings():
    assert HostOptions.from_env({}) == HostOptions()
    options = HostOptions.from_env(
        {
            "DEVHOST_TERMINATE_DELAY_SECONDS": "40",
            "DEVHOST_SHORT_PAGES": "true",
            "DEVHOST_REORDER_CLIENT_SIGNALS": "1",
            "DEVHOST_REWIND_SUPPORTED": "false",
            "DEVHOST_MAX_MESSAGE_BYTES": "65536",
        }
    )
    assert options == HostOptions(40.0, True, True, 65536, False)


@pytest.mark.parametrize(
    ("setting", "value"),
    [("DEVHOST_TERMINATE_DELAY_SECONDS", "soon"), ("DEVHOST_MAX_MESSAGE_BYTES", "1.5")],
)
def test_a_malformed_setting_stops_start_up_naming_it(setting, value):
    with pytest.raises(ValueError, match=setting):
        HostOptions.from_env({setting: value})


def test_client_signals_are_reversed_and_what_orchestrations_sent_stays_in_place():
    batch = [
        (1, {"op": "add", "input": "1", "signal": True}),
        (2, {"op": "add", "input": "2", "parent": "orch-1", "signal": True}),
        (3, {"op": "add", "input": "3", "signal": True}),
        (4, {"op": "add", "input": "4", "parent": "orch-1"}),
        (5, {"op": "add", "input": "5", "signal": True}),
    ]

    assert [row_id for row_id, _ in client_signals_reversed(batch)] == [5, 2, 3, 4, 1]
