"""function_app's indexed functions, read once per test process.

azure.functions' `get_functions()` records every name it returns on the app and raises
"does not have a unique function name" when called a second time on the same app object, so
tests that look at the app's functions share this one reading.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def app_functions() -> tuple[Any, ...]:
    import function_app

    return tuple(function_app.app.get_functions())
