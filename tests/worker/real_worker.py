"""A cached Python 3.13 environment with the real Functions Python worker, and a way to ask it.

`azure-functions-runtime` is the Python worker's library for Python 3.13+; its loader and
registry run the same load-time checks as the worker Azure runs for 3.11/3.12. The environment
holds it, `azure-functions` 2.x and the app's own requirements.txt (minus its azure-functions
lines), at the versions the app's own environment resolved (its installed packages are the
constraints, so both sides run the same code; requirements.txt also resolves on 3.13 by
itself, tests/worker/test_requirements.py), lives in `.crosswalk/worker-py313/`
(git-ignored) and is rebuilt only when those requirements or versions change.
`scripts/worker_index.py` runs inside it.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".crosswalk" / "worker-py313"
STAMP = ".crosswalk-stamp"
WORKER_REQUIREMENTS = Path(__file__).with_name("requirements-worker.txt")
INDEXER = ROOT / "scripts" / "worker_index.py"


def find_python313() -> str | None:
    """A Python 3.13 interpreter: $CROSSWALK_PYTHON313, python3.13 on PATH, or pyenv's."""
    candidates = [os.environ.get("CROSSWALK_PYTHON313"), shutil.which("python3.13")]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.13*", "bin", "python3")))
    for candidate in candidates:
        if candidate and _is_313(candidate):
            return candidate
    return None


def _is_313(python: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except OSError:
        return False
    return out.stdout.strip() == "True"


def requirements() -> list[str]:
    """What the worker environment installs: the worker pins, then the app's requirements."""
    lines = []
    for path in (WORKER_REQUIREMENTS, ROOT / "requirements.txt"):
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not (path.name == "requirements.txt" and _is_azure_functions(line)):
                lines.append(line)
    return lines


def _is_azure_functions(requirement: str) -> bool:
    name = requirement.split(";")[0]
    for sep in "=<>~!([ ":
        name = name.split(sep)[0]
    return name.strip().lower().replace("_", "-") == "azure-functions"


def constraints() -> list[str]:
    """`name==version` of every package of the running (app) environment but azure-functions,
    which the worker environment takes at 2.x."""
    pinned = set()
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and not _is_azure_functions(name):
            pinned.add(f"{name}=={dist.version}")
    return sorted(pinned)


def ensure_venv(python313: str) -> Path:
    """The environment's interpreter, building the environment first if it is missing/stale."""
    pins = constraints()
    wanted = hashlib.sha256(json.dumps([python313, requirements(), pins]).encode()).hexdigest()
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "worker-py313.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = VENV / STAMP
        if stamp.exists() and stamp.read_text() == wanted and (VENV / "bin" / "python").exists():
            return VENV / "bin" / "python"
        building = VENV.with_name(VENV.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        subprocess.run([python313, "-m", "venv", str(building)], check=True)
        (building / "constraints.txt").write_text("\n".join(pins) + "\n")
        quiet = ["--quiet", "--disable-pip-version-check"]
        pip = [str(building / "bin" / "python"), "-m", "pip", "install", *quiet]
        subprocess.run([*pip, "-c", str(building / "constraints.txt"), *requirements()], check=True)
        (building / STAMP).write_text(wanted)
        shutil.rmtree(VENV, ignore_errors=True)
        building.rename(VENV)  # `bin/python -m ...` works from the new place
    return VENV / "bin" / "python"


def index_with_worker(python: Path, app_dir: Path, env: dict[str, str] | None = None) -> dict:
    """What the real worker says about APP_DIR: {"functions": [...], "refused": {name: msg}}."""
    out = subprocess.run(
        [str(python), str(INDEXER), str(app_dir), "--json"],
        capture_output=True,
        text=True,
        cwd=app_dir,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    if out.returncode not in (0, 1):
        raise RuntimeError(f"worker indexer failed ({out.returncode}): {out.stdout}{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":  # `python tests/worker/real_worker.py`: build it, say where it is
    found = find_python313()
    if found is None:
        sys.exit("no Python 3.13 found (set CROSSWALK_PYTHON313 or install it with pyenv)")
    print(ensure_venv(found))
