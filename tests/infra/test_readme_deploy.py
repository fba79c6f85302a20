"""The README's "Deploying to Azure" says what the template does: its parameter table is
main.bicep's parameters with their defaults and azd environment values, and the alerts it
describes match log lines the app really writes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from crosswalk.errors import error_for_status
from crosswalk.models import ReconciliationReport
from crosswalk.notifications import NotificationKind
from crosswalk.support.health import attention

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SECTION = README[README.index("## Deploying to Azure") :]
ALERTS = (ROOT / "infra" / "modules" / "alerts.bicep").read_text()


def _parameter_rows() -> dict[str, list[str]]:
    table = SECTION[SECTION.index("| parameter |") :].split("\n\n", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        for name in re.findall(r"`([a-zA-Z][a-zA-Z0-9]*)`", cells[0]):
            rows[name] = cells
    return rows


def test_the_parameter_table_lists_every_parameter_of_main_bicep(infra_check):
    assert set(_parameter_rows()) == set(infra_check["main"]["parameters"])


def test_the_parameter_table_gives_the_templates_defaults(infra_check):
    for name, cells in _parameter_rows().items():
        default = infra_check["main"]["parameters"][name].get("default")
        documented = cells[2]
        if isinstance(default, bool | int) or (isinstance(default, str) and "(" not in default):
            literal = json.dumps(default) if not isinstance(default, str) else default
            expected = {"`" + literal + "`", "`" + literal.lower() + "`"}
            if default == "":
                expected = {"empty"}
            assert documented in expected, f"{name}: README says {documented}, default {default!r}"
        elif default is None and name in ("environmentName", "location"):
            assert documented == "set by azd"
        elif default is None:
            assert documented == "required", f"{name}: README says {documented}, it is required"


def test_the_azd_environment_values_are_the_ones_the_parameter_file_reads(parameter_file):
    for name, cells in _parameter_rows().items():
        documented = re.fullmatch(r"`([A-Z_]+)`", cells[1])
        if not documented or name in ("environmentName", "location"):
            continue
        mapped = parameter_file["parameters"][name]["value"]
        assert mapped.startswith("${" + documented.group(1)), f"{name}: file maps {mapped}"


def _alert_query(key: str) -> str:
    block = ALERTS[ALERTS.index(f"key: '{key}'") :]
    bicep_text = re.search(r"query: '(.*)'\n", block).group(1)
    kql = bicep_text.replace("\\\\", "\\").replace("\\'", "'")  # Bicep's escapes
    return kql.replace('\\"', '"')  # KQL's escaped quotes, as the query compares them


def test_the_needs_attention_alert_matches_the_notification_and_the_digest():
    query = _alert_query("needs-attention")
    notify_source = (ROOT / "activities" / "notify.py").read_text()
    digest = _digest_line({"needs_attention": 1})

    # activities/notify.py logs "<kind> {json}"
    assert f'startswith "{NotificationKind.NEEDS_ATTENTION} "' in query
    assert 'log.warning(\n        "%s %s",\n        notification.kind,' in notify_source
    assert '"kind": "needs_attention"' in digest and '"kind": "needs_attention"' in query


def test_the_failures_alert_matches_the_digest_and_crashed_handlers():
    query = _alert_query("failures")
    run = ReconciliationReport(
        run_id="r1", started_at=datetime(2026, 1, 1, tzinfo=UTC), status="failed", failed=2
    )
    digest = _digest_line({"failed": 3}, last_run=run)

    for kind in ("failed", "reconciliation"):
        assert f'"kind": "{kind}"' in digest and f'"kind": "{kind}"' in query
    assert 'log.exception("unhandled error in %s"' in (ROOT / "triggers/responses.py").read_text()
    assert 'startswith "unhandled error in "' in query


def test_the_salesforce_allowance_alert_matches_the_error_salesforce_gives():
    refused = error_for_status(
        "salesforce", 403, "TotalRequests Limit exceeded.", code="REQUEST_LIMIT_EXCEEDED"
    )

    assert "REQUEST_LIMIT_EXCEEDED" in str(refused) or "REQUEST_LIMIT_EXCEEDED" in refused.tag
    assert 'has "REQUEST_LIMIT_EXCEEDED"' in _alert_query("salesforce-allowance")


def _digest_line(counts: dict[str, int], last_run: ReconciliationReport | None = None) -> str:
    """The line triggers/support_digest.py logs for these counts."""
    source = (ROOT / "triggers" / "support_digest.py").read_text()
    assert (
        'log.warning("support digest %s", json.dumps(health["attention"], sort_keys=True))'
        in source
    )
    items = attention(counts, 0, last_run)
    return "support digest " + json.dumps(items, sort_keys=True)


def test_the_example_output_has_the_checks_format_and_checkov_version():
    example = re.search(
        r"`(infra: \d+ of \d+ Bicep files parsed; checkov [^`]+)`", SECTION.replace("\n", " ")
    )
    pinned = re.search(
        r"^checkov==(\S+)$", (ROOT / "infra/requirements-check.txt").read_text(), re.M
    )

    assert example, "README shows no example of the check's output"
    assert re.fullmatch(
        rf"infra: (\d+) of \1 Bicep files parsed; checkov {re.escape(pinned.group(1))}: "
        r"public \d+ passed, 0 failed, \d+ suppressed; "
        r"private \d+ passed, 0 failed, \d+ suppressed",
        example.group(1),
    )
