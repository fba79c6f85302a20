"""Azure's published Bicep types (Azure/bicep-types-az, `generated/`) as scripts/bicep_schema.py
reads them: `<group>/<provider namespace>/<api version>/types.json`, each a list of typed
nodes referring to each other by index. Found in $CROSSWALK_BICEP_TYPES, else in
shared/azure-bicep-types beside the checkout (or beside its parent)."""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TYPES_ENV = "CROSSWALK_BICEP_TYPES"


class TypesMissing(LookupError):
    """The type data has no entry for what the template names."""


def types_root() -> Path | None:
    """Where Azure's Bicep types are: $CROSSWALK_BICEP_TYPES or shared/ beside the checkout."""
    if os.environ.get(TYPES_ENV):
        return Path(os.environ[TYPES_ENV])
    for base in (ROOT.parent, ROOT.parent.parent):
        candidate = base / "shared" / "azure-bicep-types"
        if candidate.is_dir():
            return candidate
    return None


@dataclass
class TypeIndex:
    """`<group>/<namespace>/<api version>/types.json` files, read when first needed."""

    root: Path
    files: dict[tuple[str, str], Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for path in self.root.glob("*/*/*/types.json"):
            self.files[(path.parent.parent.name.lower(), path.parent.name)] = path

    def versions(self, namespace: str) -> list[str]:
        return sorted(v for n, v in self.files if n == namespace.lower())

    def resource(self, type_name: str, version: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(the file's nodes, the ResourceType node) of type_name@version."""
        namespace = type_name.split("/", 1)[0]
        if not self.versions(namespace):
            known = sorted({n for n, _ in self.files})
            raise TypesMissing(
                f"provider {namespace} is not in Azure's type data at {self.root} (it has "
                f"{', '.join(known)}); add generated/<group>/{namespace.lower()}/<version>/"
                "types.json from Azure/bicep-types-az"
            )
        path = self.files.get((namespace.lower(), version))
        if path is None:
            raise TypesMissing(
                f"API version {version} of {namespace} is not in Azure's type data at "
                f"{self.root} (versions there: {', '.join(self.versions(namespace))}); if Azure "
                f"publishes it, add its types.json from Azure/bicep-types-az, else use one it has"
            )
        nodes = load(path)
        wanted = f"{type_name}@{version}".lower()
        for node in nodes:
            if node.get("$type") == "ResourceType" and node["name"].lower() == wanted:
                return nodes, node
        names = [n["name"].split("@")[0] for n in nodes if n.get("$type") == "ResourceType"]
        close = difflib.get_close_matches(type_name, names, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise TypesMissing(f"{type_name} is not a resource type of {namespace} {version}{hint}")


@cache
def load(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text())
