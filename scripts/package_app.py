"""Build the zip a publish or zip deploy uploads: the app folder minus what .funcignore says.

    python scripts/package_app.py OUT.zip [APP_DIR]

.funcignore uses .gitignore syntax, so git's own matcher applies it (an empty throw-away git
directory, so neither this repository's index nor its .gitignore plays a part).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def shipped_files(app_dir: Path) -> list[str]:
    """Paths (relative, '/'-separated) of every file .funcignore does not exclude."""
    with tempfile.TemporaryDirectory() as empty:
        subprocess.run(["git", "init", "-q", "--bare", empty], check=True)
        listed = subprocess.run(
            [
                "git",
                f"--git-dir={empty}",
                f"--work-tree={app_dir}",
                "ls-files",
                "--others",
                "-z",
                f"--exclude-from={app_dir / '.funcignore'}",
            ],
            cwd=app_dir,
            check=True,
            capture_output=True,
        )
    return sorted(p for p in listed.stdout.decode().split("\0") if p)


def build(out: Path, app_dir: Path) -> list[str]:
    files = shipped_files(app_dir)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name in files:
            package.write(app_dir / name, name)
    return files


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    root = Path(sys.argv[2] if len(sys.argv) == 3 else ".").resolve()
    shipped = build(Path(sys.argv[1]), root)
    print(f"{sys.argv[1]}: {len(shipped)} files from {root}")
