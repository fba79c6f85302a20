"""The infra schema check's cost: parsing every .bicep file (pycep, the floor any check of the
template pays) against checking the parsed files against Azure's published types, first with
the type files still unread, then again. Five rounds; the median of each.

Runs in .venv-infra (pycep is only there): `.venv/bin/python bench/infra_schema.py` re-runs
itself with .venv-infra's Python. The last line is the result.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFRA_PYTHON = ROOT / ".venv-infra" / "bin" / "python"
ROUNDS = 5

try:
    import pycep  # noqa: F401
except ImportError:
    if not INFRA_PYTHON.exists():
        raise SystemExit("run `make infra-venv` first: the check parses with pycep") from None
    os.execv(str(INFRA_PYTHON), [str(INFRA_PYTHON), __file__, *sys.argv[1:]])

sys.path.insert(0, str(ROOT))

from scripts import bicep_types  # noqa: E402
from scripts.bicep_schema import check_files, parse_directory  # noqa: E402


def main() -> None:
    parse, cold, warm = [], [], []
    result = None
    for _ in range(ROUNDS):
        bicep_types.load.cache_clear()  # the type files read again: a cold check
        started = time.perf_counter()
        files = parse_directory(ROOT / "infra")
        parsed = time.perf_counter()
        result = check_files(files)
        checked = time.perf_counter()
        check_files(files)
        again = time.perf_counter()
        parse.append(parsed - started)
        cold.append(checked - parsed)
        warm.append(again - checked)
    assert result is not None and not result.problems, result.problems if result else None
    load = os.getloadavg()[0]
    p, c, w = (statistics.median(x) * 1000 for x in (parse, cold, warm))
    print(f"parse {p:.0f} ms; check cold {c:.0f} ms, warm {w:.0f} ms (load average {load:.2f})")
    print(
        f"infra schema check: {result.resources} resources in {result.files} files, "
        f"check {c:.0f} ms cold = {c / p:.2f}x the pycep parse ({p:.0f} ms), {w:.0f} ms warm"
    )


if __name__ == "__main__":
    main()
