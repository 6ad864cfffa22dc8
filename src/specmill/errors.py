"""The few errors specmill raises on purpose; the CLI prints them once, at the top.

A ``SpecmillError`` is a message for the user (exit 1), optionally located at a file
and line so that editors and CI annotations can jump to it.
"""

from __future__ import annotations


class SpecmillError(Exception):
    """An error whose message is shown to the user as is (no traceback)."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def __str__(self) -> str:
        where = self.location
        return f"{where}: {self.message}" if where else self.message


class ConfigError(SpecmillError):
    """specmill.toml or [tool.specmill] is missing, malformed or has unknown keys."""


class SpecError(SpecmillError):
    """A spec's front matter or body is malformed."""


class GraphError(SpecmillError):
    """depends_on names an unknown module, or the dependencies form a cycle."""


class UnsupportedFormatError(SpecmillError):
    """A file format that cannot carry a generated-file header."""


class PathSafetyError(SpecmillError):
    """A write outside the declared outputs, outside the repository, or into a protected path."""
