"""infra/ is checked here, without an Azure account: every .bicep file parses with checkov's
own Bicep parser (pycep-parser), and checkov's Azure policies pass, each exception listed once,
with its reason, in infra/checkov-suppressions.yaml."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_bicep_file_parses(infra_check):
    bicep_files = sorted((ROOT / "infra").rglob("*.bicep"))

    assert infra_check["counts"]["bicep_files"] == len(bicep_files) > 1
    assert infra_check["counts"]["parsed"] == len(bicep_files), infra_check["output"]
    assert infra_check["main"]["modules"], "main.bicep parsed to nothing"


def test_checkov_azure_policies_pass_with_every_suppression_explained(infra_check):
    counts = infra_check["counts"]

    assert infra_check["problems"] == [], infra_check["output"]
    assert counts["failed"] == 0
    assert counts["passed"] > 0
    assert counts["checkov_parsing_errors"] == 0
    assert infra_check["exit_code"] == 0


def test_the_check_prints_what_it_counted(infra_check):
    counts = infra_check["counts"]

    assert (
        f"{counts['parsed']} of {counts['bicep_files']} Bicep files parsed" in infra_check["output"]
    )
    for name, variant in counts["variants"].items():
        assert (
            f"{name} {variant['passed']} passed, 0 failed, {variant['suppressed']} suppressed"
            in infra_check["output"]
        )
