"""The package a publish or zip deploy uploads holds the app and nothing else (.funcignore)."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

from scripts.package_app import build

ROOT = Path(__file__).resolve().parents[2]
ROLE_FOLDERS = ("activities", "orchestrators", "entities", "triggers", "crosswalk")
# A new top-level file or folder is a decision: ship it (here) or leave it out (.funcignore).
SHIPPED_TOP_LEVEL = {
    "function_app.py",
    "host.json",
    "requirements.txt",
    "pubsub_api",  # the Pub/Sub API's proto and generated modules the relay imports
    *ROLE_FOLDERS,
}
# what a developer's checkout holds besides the tracked files: none of it may ship
LOCAL_ONLY = (
    ".venv/lib/python3.11/site-packages/azure/functions/__init__.py",
    "node_modules/azurite/package.json",
    ".crosswalk/worker-py313/bin/python",
    ".devhost/taskhub.sqlite3",
    ".sandbox/state.json",
    ".pytest_cache/v/cache/nodeids",
    ".hypothesis/examples/0a/1b",
    ".vscode/settings.json",
    "activities/__pycache__/d2c.cpython-311.pyc",
    "local.settings.json",
)
EXCLUDED_FOLDERS = tuple(
    f"{d}/"
    for d in (".git", ".ci", "tests", "bench", "sandbox", "devhost", "docs", "scripts", "infra")
)


def checkout_copy(target: Path) -> Path:
    """The repository's tracked layout (empty files) plus the local-only files above."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    for name in [p for p in tracked.split("\0") if p] + list(LOCAL_ONLY) + [".git/HEAD"]:
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    shutil.copy(ROOT / ".funcignore", target / ".funcignore")
    return target


def test_the_package_holds_the_app_and_none_of_the_working_tree(tmp_path) -> None:
    checkout = checkout_copy(tmp_path / "checkout")
    out = tmp_path / "app.zip"
    build(out, checkout)
    names = zipfile.ZipFile(out).namelist()

    for required in ("function_app.py", "host.json", "requirements.txt"):
        assert required in names
    for folder in ROLE_FOLDERS:
        assert f"{folder}/__init__.py" in names
    assert "triggers/support_console/index.html" in names  # static files the app serves
    assert {n.split("/")[0] for n in names} == SHIPPED_TOP_LEVEL
    assert [n for n in names if n in LOCAL_ONLY] == []
    assert [n for n in names if n.startswith(EXCLUDED_FOLDERS)] == []
    for not_needed in ("requirements-dev.txt", "Makefile", "pyproject.toml", ".funcignore"):
        assert not_needed not in names
