"""The local lake: a folder whose files are named exactly like the Blob objects in Azure.

Writes go to a temporary file in the same folder and are renamed over the target
(`os.replace`), so a reader — or a crash — never sees half a document.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crosswalk.errors import (
    IntegrationError,
    NotFound,
    PermanentError,
    PreconditionFailed,
    TransientError,
)
from crosswalk.lake.base import SYSTEM, check_path, check_prefix, decode, encode

_TMP_SUFFIX = ".tmp"


def _os_error(exc: OSError, action: str, path: str) -> IntegrationError:
    """Permissions and read-only disks will not fix themselves; other I/O errors might."""
    text = f"{action} {path}: {exc.strerror or type(exc).__name__}"
    if isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.ENAMETOOLONG):
        return PermanentError(text, system=SYSTEM, code=errno.errorcode.get(exc.errno or 0))
    return TransientError(text, system=SYSTEM, code=errno.errorcode.get(exc.errno or 0))


class FolderLake:
    """`Lake` over a local folder (created on first write)."""

    def __init__(self, root: Path | str) -> None:
        self._root = Path(root).absolute()

    def _file(self, path: str) -> Path:
        return self._root.joinpath(*check_path(path).split("/"))

    def put_json(self, path: str, document: Mapping[str, Any]) -> str:
        return self.put_bytes(path, encode(document), content_type="application/json")

    def put_bytes(self, path: str, data: bytes, *, content_type: str) -> str:
        """`content_type` is for Blob; a file's name says what it holds."""
        target = self._file(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=_TMP_SUFFIX
            )
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise _os_error(exc, "write", path) from exc
        return target.as_uri()

    def get_json(self, path: str) -> dict[str, Any]:
        return decode(self.get_bytes(path), path)

    def get_bytes(self, path: str) -> bytes:
        target = self._file(path)
        try:
            return target.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"{path} is not in the lake", system=SYSTEM, status=404) from None
        except OSError as exc:
            raise _os_error(exc, "read", path) from exc

    def exists(self, path: str) -> bool:
        return self._file(path).is_file()

    def delete(self, path: str) -> bool:
        target = self._file(path)
        try:
            target.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return False
        except OSError as exc:
            raise _os_error(exc, "delete", path) from exc
        return True

    def list(self, prefix: str) -> list[str]:
        prefix = check_prefix(prefix)
        # Walk only the deepest folder the prefix names, then filter by the string prefix.
        folder = prefix.rpartition("/")[0]
        start = self._root.joinpath(*folder.split("/")) if folder else self._root
        if not start.is_dir():
            return []
        found: list[str] = []
        try:
            for dirpath, _dirs, files in os.walk(start):
                relative = Path(dirpath).relative_to(self._root).as_posix()
                base = "" if relative == "." else relative + "/"
                for name in files:
                    if name.startswith(".") and name.endswith(_TMP_SUFFIX):
                        continue  # an in-flight write
                    full = base + name
                    if full.startswith(prefix):
                        found.append(full)
        except OSError as exc:
            raise _os_error(exc, "list", prefix) from exc
        return sorted(found)

    def read_tagged(self, path: str) -> tuple[dict[str, Any], str] | None:
        try:
            data = self.get_bytes(path)
        except NotFound:
            return None
        return decode(data, path), hashlib.sha256(data).hexdigest()

    def write_if(self, path: str, document: Mapping[str, Any], etag: str | None) -> str:
        """Compare and swap under an advisory lock beside the file (released on any exit,
        kill -9 included; named like an in-flight write so listings skip it); the ETag is
        the content's hash."""
        target = self._file(path)
        data = encode(document)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target.with_name(f".{target.name}.lock{_TMP_SUFFIX}"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                current = self.read_tagged(path)
                if (current[1] if current else None) != etag:
                    raise PreconditionFailed(
                        f"{path} changed since it was read", system=SYSTEM, status=412
                    )
                self.put_bytes(path, data, content_type="application/json")
        except OSError as exc:
            raise _os_error(exc, "write", path) from exc
        return hashlib.sha256(data).hexdigest()

    def close(self) -> None:
        """Nothing to release; here so every `Lake` can be closed the same way."""
