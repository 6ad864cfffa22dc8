"""When to retry a failed HTTP call to a model, and how long to wait first. Pure.

Kept apart from the openai adapter so the policy reads in one place and is tested
without a server: retry what may succeed later (rate limits, server errors, timeouts,
dropped connections), never what will fail again (a bad key, a bad request, an
exhausted quota), and wait as long as the server asks when it says so.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping

RETRYABLE_STATUSES = frozenset({408, 409, 429})
MAX_RETRY_AFTER = 120.0  # a server asking for longer is not worth waiting for in a run


def retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from ``retry-after-ms`` or ``Retry-After``.

    ``Retry-After`` is either seconds or an HTTP date (RFC 9110 §10.2.3); None when
    absent or unreadable, so the caller falls back to its own backoff.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = _number(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def should_retry_status(status: int, headers: Mapping[str, str], body: object) -> bool:
    """Whether an HTTP error status is worth another try."""
    lowered = {key.lower(): value for key, value in headers.items()}
    if lowered.get("x-should-retry") in ("true", "false"):  # the server knows best
        return lowered["x-should-retry"] == "true"
    if _error_code(body) == "insufficient_quota":  # billing, not load: waiting won't help
        return False
    wait = retry_after(headers)
    if wait is not None and wait > MAX_RETRY_AFTER:
        return False
    return status in RETRYABLE_STATUSES or status >= 500


def backoff(attempt: int, *, initial: float, maximum: float) -> float:
    """Exponential backoff with jitter for the wait after failed ``attempt`` (1-based).

    The jitter (up to 25% off) keeps threads that failed together from retrying in step.
    """
    delay = min(initial * 2.0 ** (attempt - 1), maximum)
    return delay * (1 - 0.25 * random.random())


def _error_code(body: object) -> object:
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return error.get("code") or error.get("type")
    return None
