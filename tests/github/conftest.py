"""Fixtures of the bot's tests: PyGithub over ``responses`` (every expected call must fire)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from specmill.github.client import make_client
from tests.github.gh_support import NO_PAUSES, TOKEN, GitHubMock


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def github(mock: responses.RequestsMock) -> GitHubMock:
    return GitHubMock(mock)


@pytest.fixture
def gh() -> Any:
    return make_client(TOKEN, None, retry=None, **NO_PAUSES)
