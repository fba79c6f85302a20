"""How the infra check treats checkov's failures: suppressed only when infra/checkov-
suppressions.yaml lists that check for that resource with a reason, and an entry that no longer
suppresses anything is itself a failure."""

from __future__ import annotations

from pathlib import Path

from scripts.infra_check import (
    SUPPRESSIONS,
    Suppression,
    apply_suppressions,
    load_suppressions,
    stale_suppressions,
)


def _report(*failed):
    return {
        "results": {
            "failed_checks": [
                {"check_id": cid, "file_path": path, "resource": res, "check_name": "a policy"}
                for cid, path, res in failed
            ]
        }
    }


def test_a_listed_failure_is_suppressed_and_an_unlisted_one_fails():
    listed = Suppression("CKV_AZURE_1", "why", ["modules/a.bicep::X.a"])
    report = _report(
        ("CKV_AZURE_1", "/modules/a.bicep", "X.a"),
        ("CKV_AZURE_1", "/modules/b.bicep", "X.b"),  # same check, a resource not listed
        ("CKV_AZURE_2", "/modules/a.bicep", "X.a"),
    )

    failures, suppressed = apply_suppressions(report, {"CKV_AZURE_1": listed})

    assert suppressed == 1
    assert failures == [
        "CKV_AZURE_1 modules/b.bicep::X.b: a policy",
        "CKV_AZURE_2 modules/a.bicep::X.a: a policy",
    ]
    assert stale_suppressions({"CKV_AZURE_1": listed}) == []


def test_a_suppression_that_suppresses_nothing_is_reported():
    unused = Suppression("CKV_AZURE_3", "why", ["modules/a.bicep::X.a"])

    apply_suppressions(_report(), {"CKV_AZURE_3": unused})

    assert stale_suppressions({"CKV_AZURE_3": unused}) == [
        "suppression CKV_AZURE_3 modules/a.bicep::X.a: nothing to suppress any more; remove it"
    ]


def test_every_suppression_has_a_reason_and_names_its_resources(tmp_path: Path):
    entries, problems = load_suppressions(SUPPRESSIONS)

    assert problems == []
    assert all(len(entry.reason) > 30 for entry in entries.values())

    bad = tmp_path / "suppressions.yaml"
    bad.write_text("CKV_AZURE_9:\n  resources: []\n")
    assert load_suppressions(bad)[1] == [
        "suppression CKV_AZURE_9: no reason given",
        "suppression CKV_AZURE_9: names no resource",
    ]
