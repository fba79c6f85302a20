"""Index a Functions app with the real Python worker's loader and registry; print the verdict.

Run with a Python that has `azure-functions-runtime` installed (see tests/worker/), from
anywhere:

    python scripts/worker_index.py APP_DIR [--json]

It imports APP_DIR/function_app.py through the worker's `index_function_app`, hands every
function to `Registry.add_indexed_function` as the worker does when the host asks for function
metadata, and prints `N functions, M refused` followed by each refusal (the worker's
`FunctionLoadError` text). Exit status 0 when nothing is refused, 1 otherwise, 2 when the app
cannot be indexed at all. With --json it prints one JSON object instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

# The registry reads only the BindingInfo enums of the protobuf module the worker hands it
# (direction in/out/inout, data type undefined); these are their wire values.
PROTOS = SimpleNamespace(BindingInfo=SimpleNamespace(in_=0, out=1, inout=2, undefined=0))


def index(app_dir: Path) -> dict[str, object]:
    from azure_functions_runtime.bindings.meta import load_binding_registry
    from azure_functions_runtime.functions import Registry
    from azure_functions_runtime.loader import index_function_app

    sys.path.insert(0, str(app_dir))
    try:
        load_binding_registry()  # what the worker does on its init request, before indexing
        functions = index_function_app(str(app_dir / "function_app.py"))
    except Exception as exc:  # the worker reports this as a failed metadata request
        return {"error": f"{type(exc).__name__}: {exc}", "functions": [], "refused": {}}
    registry = Registry()
    names: list[str] = []
    refused: dict[str, str] = {}
    for function in functions:
        name = function.get_function_name()
        names.append(name)
        try:
            registry.add_indexed_function(function, PROTOS)
        except Exception as exc:  # FunctionLoadError, or whatever else the worker would raise
            refused[name] = str(exc)
    return {"error": None, "functions": names, "refused": refused}


def main(argv: list[str]) -> int:
    as_json = "--json" in argv
    args = [a for a in argv if a != "--json"]
    app_dir = Path(args[0] if args else ".").resolve()
    result = index(app_dir)
    if as_json:
        print(json.dumps(result))
    elif result["error"]:
        print(f"cannot index {app_dir}: {result['error']}")
    else:
        refused = result["refused"]
        assert isinstance(refused, dict)
        print(f"{len(result['functions'])} functions, {len(refused)} refused")  # type: ignore[arg-type]
        for message in refused.values():
            print(f"  {message}")
    if result["error"]:
        return 2
    return 1 if result["refused"] else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
