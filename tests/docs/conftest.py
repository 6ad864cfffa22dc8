"""The scratch repositories of the manual's examples, shared by the docs tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.docs.model_server import model_server
from tests.docs.scratch import Scratch


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    """Recipes built once, a copy per page and repository name; the local model server."""
    with model_server() as server:
        yield Scratch(tmp_path_factory.mktemp("docs-scratch"), server.url)
