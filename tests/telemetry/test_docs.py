"""The KQL in docs/operations.md and the README name metrics and attributes that exist."""

from __future__ import annotations

import re
from pathlib import Path

from opentelemetry.sdk.metrics import MeterProvider

from crosswalk.telemetry import correlation
from crosswalk.telemetry.instruments import Instruments

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def _instrument_names() -> set[str]:
    built = Instruments.build(MeterProvider())
    return {getattr(built, field).name for field in Instruments.__dataclass_fields__}


def test_every_metric_the_queries_read_is_one_crosswalk_reports():
    single = re.findall(r'name == "(crosswalk\.[a-z_.]+)"', OPERATIONS)
    listed = re.findall(r"name in \(([^)]*)\)", OPERATIONS)
    queried = {
        *single,
        *(n for group in listed for n in re.findall(r'"(crosswalk[a-z_.]+)"', group)),
    }

    assert len(queried) >= 8
    assert queried <= _instrument_names()


def test_every_metric_crosswalk_reports_is_listed_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in _instrument_names():
        assert f"`{name.removeprefix('crosswalk.')}`" in readme, name


def test_the_correlation_attributes_the_queries_read_are_the_ones_spans_carry():
    read = set(re.findall(r'customDimensions\["(crosswalk\.[a-z_.]+)"\]', OPERATIONS))
    carried = {
        *correlation.CORRELATION,
        "crosswalk.compensation",
        "crosswalk.attempt",
        "crosswalk.error.kind",
        "crosswalk.error.system",
        "crosswalk.error.status",
        "crosswalk.error.code",
    }

    assert read
    assert read <= carried
