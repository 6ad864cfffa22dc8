"""The retry policy, pure: what is retried and how long to wait."""

from __future__ import annotations

import email.utils

import pytest

from specmill.llm.retry import MAX_RETRY_AFTER, backoff, retry_after, should_retry_status

NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"Retry-After": "2", "retry-after-ms": "250"}, 0.25),
        ({"Retry-After": email.utils.formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"Retry-After": email.utils.formatdate(NOW - 30, usegmt=True)}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-3"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(headers, now=NOW) == seconds


@pytest.mark.parametrize(
    ("status", "headers", "body", "retry"),
    [
        (429, {}, None, True),
        (500, {}, None, True),
        (503, {}, "<html>Service Unavailable</html>", True),
        (408, {}, None, True),
        (400, {}, None, False),
        (401, {}, None, False),
        (404, {}, None, False),
        (500, {"x-should-retry": "false"}, None, False),
        (400, {"X-Should-Retry": "true"}, None, True),
        (429, {}, {"message": "You exceeded your quota", "code": "insufficient_quota"}, False),
        (429, {"Retry-After": str(MAX_RETRY_AFTER + 1)}, None, False),
    ],
)
def test_should_retry_status(
    status: int, headers: dict[str, str], body: object, retry: bool
) -> None:
    assert should_retry_status(status, headers, body) is retry


def test_backoff_doubles_with_jitter_up_to_the_maximum() -> None:
    for attempt, full in [(1, 0.5), (2, 1.0), (3, 2.0), (10, 8.0)]:
        wait = backoff(attempt, initial=0.5, maximum=8.0)
        assert 0.75 * full <= wait <= full
