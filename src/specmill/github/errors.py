"""Errors of the GitHub bot: all ``SpecmillError``s, so the CLI prints them once (exit 1)."""

from __future__ import annotations

from specmill.errors import SpecmillError


class EventError(SpecmillError):
    """The event payload is missing, unreadable or lacks a field the bot needs."""


class GitHubApiError(SpecmillError):
    """A call to the GitHub API failed; the message says which call, why, and what to do."""

    def __init__(self, message: str, *, call: str, status: int | None, hint: str | None) -> None:
        super().__init__(message, hint=hint)
        self.call = call
        self.status = status


class BundleError(SpecmillError):
    """A result bundle is malformed, too large, unsafe, or does not match the event."""
