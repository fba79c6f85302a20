from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import SupportStack, support_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupportStack]:
    with support_stack(tmp_path_factory.mktemp("support")) as running:
        yield running
