"""Fixtures and markers for the pre-commit hook tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "framework: runs the real pre-commit framework (try-repo); builds its hook "
        "environment once per session",
    )
