"""The infra check: every .bicep file under infra/ parses, its resources match Azure's own
published types (scripts/bicep_schema.py), and checkov's Azure policies pass.

Runs in its own environment (`.venv-infra`, `make infra-venv`), because checkov pins dozens of
packages the app must not share. It never imports the app.

    .venv-infra/bin/python scripts/infra_check.py [--report PATH]

Prints two summary lines (how many Bicep files parsed; checkov passed / failed / suppressed;
how many resources the schema check read against which type data) and, for each problem, a
line saying what and where. Exit status 0 only when every file parses, every resource matches
Azure's types, no check fails unsuppressed, and every suppression in infra/checkov-suppressions.yaml
still suppresses something. `--report PATH` also writes the results as JSON, with every parsed
file, for tests/infra to check the Function App's settings against the app and the
template against Azure's rules.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):  # run as a script: make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.bicep_schema import TYPES_MISSING, SchemaResult, check_files, types_root
from scripts.bicep_schema import summary as schema_summary
from scripts.bicep_template import BicepFile

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
SUPPRESSIONS = INFRA / "checkov-suppressions.yaml"


# The template's two variants (main.bicep's privateNetworking). checkov reads no expressions,
# so each variant is checked on a rendering of infra/ in which every
# `privateNetworking ? A : B` (A and B single tokens, the template's convention) is replaced by
# A or B.
VARIANTS = {"public": False, "private": True}
VARIANT_CHOICE = re.compile(
    r"\bprivateNetworking \? ('[^'\n]*'|\[[^\]\n]*\]|[A-Za-z0-9_.]+) : "
    r"('[^'\n]*'|\[[^\]\n]*\]|[A-Za-z0-9_.]+)"
)


@dataclass
class Suppression:
    check_id: str
    reason: str
    resources: dict[str, set[str]]  # resource -> the variants it is suppressed in
    used: set[tuple[str, str]] = field(default_factory=set)  # (variant, resource)


def load_suppressions(path: Path) -> tuple[dict[str, Suppression], list[str]]:
    """The suppression file, and what is wrong with it (no reason, no resources, a variant
    that does not exist). Each resource maps to the variants it applies to."""
    raw = yaml.safe_load(path.read_text()) or {}
    found: dict[str, Suppression] = {}
    problems: list[str] = []
    for check_id, entry in raw.items():
        entry = entry or {}
        reason = str(entry.get("reason") or "").strip()
        listed = entry.get("resources") or {}
        if isinstance(listed, list):  # a plain list: every variant
            listed = {resource: list(VARIANTS) for resource in listed}
        resources = {str(r): {str(v) for v in (variants or [])} for r, variants in listed.items()}
        if not reason:
            problems.append(f"suppression {check_id}: no reason given")
        if not resources:
            problems.append(f"suppression {check_id}: names no resource")
        for resource, variants in resources.items():
            if not variants or variants - set(VARIANTS):
                problems.append(
                    f"suppression {check_id} {resource}: variants must be among "
                    f"{sorted(VARIANTS)}, not {sorted(variants)}"
                )
        found[check_id] = Suppression(check_id, reason, resources)
    return found, problems


def render_variant(variant: str, into: Path, source: Path = INFRA) -> tuple[Path, list[str]]:
    """source as the variant deploys it, for checkov: (the copy, what could not be rendered)."""
    private = VARIANTS[variant]
    target = into / variant / "infra"
    problems: list[str] = []
    for path in sorted(source.rglob("*.bicep")):
        text = VARIANT_CHOICE.sub(lambda m: m.group(1 if private else 2), path.read_text())
        for number, line in enumerate(text.splitlines(), 1):
            if re.search(r"\bprivateNetworking \?", line):
                problems.append(
                    f"{path.relative_to(source).as_posix()}:{number}: write "
                    "`privateNetworking ? A : B` with A and B single tokens, or checkov cannot "
                    "check the variants apart"
                )
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return target, problems


def parse_all() -> tuple[list[Path], list[str], dict[str, dict[str, Any]]]:
    """Parse every .bicep file; return the files, the parse errors and each parsed file
    (by its path under infra/)."""
    from pycep import BicepParser  # only in .venv-infra; tests import the rest of this module

    parser = BicepParser()
    files = sorted(INFRA.rglob("*.bicep"))
    errors: list[str] = []
    parsed_files: dict[str, dict[str, Any]] = {}
    for path in files:
        try:
            parsed = parser.parse(file_path=path)
        except Exception as exc:  # pycep raises lark's errors or ValueError; report them all
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            errors.append(f"{path.relative_to(ROOT)}: does not parse: {type(exc).__name__} {first}")
            continue
        parsed_files[path.relative_to(INFRA).as_posix()] = parsed
    return files, errors, parsed_files


def start_checkov(directory: Path) -> subprocess.Popen[str]:
    """checkov's Bicep policies over directory, reporting JSON (nothing downloaded)."""
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "WARNING"}
    command = [
        sys.executable,  # this environment's checkov, whatever its console script says
        "-m",
        "checkov.main",
        "--directory",
        str(directory),
        "--framework",
        "bicep",
        "--output",
        "json",
        "--skip-download",
        "--compact",
    ]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def checkov_report(run: subprocess.Popen[str]) -> dict[str, Any]:
    stdout, stderr = run.communicate()
    if run.returncode not in (0, 1):  # 1 means "some check failed"; anything else broke
        raise SystemExit(f"checkov did not run (exit {run.returncode}):\n{stderr[-2000:]}")
    report = json.loads(stdout)
    reports = report if isinstance(report, list) else [report]
    bicep = [r for r in reports if r.get("check_type") == "bicep"]
    if not bicep:
        raise SystemExit(f"checkov reported no Bicep results:\n{stdout[-2000:]}")
    return bicep[0]


def resource_key(check: dict[str, Any]) -> str:
    return f"{str(check['file_path']).lstrip('/')}::{check['resource']}"


def apply_suppressions(
    report: dict[str, Any], suppressions: dict[str, Suppression], variant: str
) -> tuple[list[str], int]:
    """Unsuppressed failures (one line each) and how many failures were suppressed."""
    failures: list[str] = []
    suppressed = 0
    for check in report["results"]["failed_checks"]:
        key = resource_key(check)
        entry = suppressions.get(check["check_id"])
        if entry and variant in entry.resources.get(key, set()):
            entry.used.add((variant, key))
            suppressed += 1
            continue
        failures.append(f"{check['check_id']} {key} ({variant}): {check['check_name']}")
    return failures, suppressed


def stale_suppressions(suppressions: dict[str, Suppression]) -> list[str]:
    """Entries that suppressed nothing in a variant they name: the template meets them now."""
    return [
        f"suppression {s.check_id} {resource} ({variant}): nothing to suppress any more; remove it"
        for s in suppressions.values()
        for resource, variants in s.resources.items()
        for variant in sorted(variants)
        if (variant, resource) not in s.used
    ]


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--report", type=Path, help="also write the results here as JSON")
    options = args.parse_args(argv)

    files, parse_errors, parsed_files = parse_all()
    if types_root() is None:  # no type data on this machine: say so, as the other skips do
        schema = SchemaResult([], 0, len(parsed_files))
        schema_line = f"schema: skipped: {TYPES_MISSING}"
    else:
        schema = check_files({path: BicepFile(path, p) for path, p in parsed_files.items()})
        schema_line = schema_summary(schema)
    suppressions, suppression_problems = load_suppressions(SUPPRESSIONS)
    problems = parse_errors + schema.problems + suppression_problems
    variants: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="infra-variants-") as scratch:
        runs = {}
        for variant in VARIANTS:
            rendered, render_problems = render_variant(variant, Path(scratch))
            problems += render_problems
            runs[variant] = start_checkov(rendered)
        reports = {variant: checkov_report(run) for variant, run in runs.items()}
    version = "?"
    for variant, report in reports.items():
        failures, suppressed = apply_suppressions(report, suppressions, variant)
        summary = report["summary"]
        version = summary.get("checkov_version", version)
        variants[variant] = {
            "passed": int(summary["passed"]),
            "failed": len(failures),
            "suppressed": suppressed,
            "checkov_parsing_errors": int(summary.get("parsing_errors", 0)),
        }
        problems += failures
        if variants[variant]["checkov_parsing_errors"]:
            problems.append(
                f"checkov could not parse {variants[variant]['checkov_parsing_errors']} "
                f"file(s) of the {variant} variant"
            )
    problems += stale_suppressions(suppressions)
    counts = {
        "bicep_files": len(files),
        "parsed": len(files) - len(parse_errors),
        **{key: sum(v[key] for v in variants.values()) for key in variants["public"]},
        "variants": variants,
        "schema_resources": schema.resources,
        "schema_problems": len(schema.problems),
    }

    checkov = "; ".join(
        f"{name} {v['passed']} passed, {v['failed']} failed, {v['suppressed']} suppressed"
        for name, v in variants.items()
    )
    print(
        f"infra: {counts['parsed']} of {counts['bicep_files']} Bicep files parsed; "
        f"checkov {version}: {checkov} "
        f"({len(suppressions)} suppressions in {SUPPRESSIONS.relative_to(ROOT)})"
    )
    print(schema_line)
    for line in problems:
        print(f"  {line}")
    if options.report:
        options.report.write_text(
            json.dumps(
                {
                    "counts": counts,
                    "problems": problems,
                    "main": parsed_files.get("main.bicep", {}),
                    "files": parsed_files,
                },
                indent=1,
                default=str,
            )
        )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
