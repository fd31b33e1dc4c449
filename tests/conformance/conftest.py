from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .backends import FACTORIES, Maker


@pytest.fixture(params=sorted(FACTORIES))
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Maker]:
    """A Maker for a fresh, empty test root on each registered backend."""
    with FACTORIES[request.param](tmp_path) as maker:
        yield maker
