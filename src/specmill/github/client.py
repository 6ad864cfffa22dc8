"""The GitHub client and the environment Actions sets; the token never leaves this module's care.

``GitHubSettings.from_env`` reads the variables Actions sets (``GITHUB_API_URL`` makes
GitHub Enterprise Server work); the token is a ``SecretStr`` so that it prints as
``**********``. ``redact`` scrubs it (and any other secret) from error text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from specmill.errors import SpecmillError

DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100  # GitHub's maximum: fewer pages for large pull requests
REDACTED = "***"
# Token shapes GitHub issues (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_): scrubbed even
# when the value itself is not known to us, e.g. in a payload echoed back by an error.
_APP_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}\Z")
_TOKEN_SHAPES = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b")


class GitHubSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr
    repository: str
    api_url: str = DEFAULT_API_URL
    server_url: str = "https://github.com"
    event_name: str
    event_path: str
    step_summary: str | None = None
    output: str | None = None  # GITHUB_OUTPUT: the action's outputs
    run_id: str | None = None
    app_slug: str | None = None  # SPECMILL_APP_SLUG: a GitHub App's token posts as <slug>[bot]

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, token_required: bool = True) -> GitHubSettings:
        names = ["GITHUB_REPOSITORY", "GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH"]
        if token_required:
            names.insert(0, "GITHUB_TOKEN")
        missing = [name for name in names if not env.get(name)]
        if missing:
            raise SpecmillError(
                f"{', '.join(missing)} not set: `specmill bot` runs inside GitHub Actions",
                hint="pass github-token to the action, or export these variables",
            )
        return cls(
            token=SecretStr(env.get("GITHUB_TOKEN", "")),
            repository=env["GITHUB_REPOSITORY"],
            api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
            event_name=env["GITHUB_EVENT_NAME"],
            event_path=env["GITHUB_EVENT_PATH"],
            step_summary=env.get("GITHUB_STEP_SUMMARY") or None,
            output=env.get("GITHUB_OUTPUT") or None,
            run_id=env.get("GITHUB_RUN_ID") or None,
            app_slug=_app_slug(env.get("SPECMILL_APP_SLUG")),
        )

    @property
    def run_url(self) -> str | None:
        if self.run_id is None:
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"


def _app_slug(value: str | None) -> str | None:
    slug = (value or "").strip().removesuffix("[bot]") or None
    if slug is not None and not _APP_SLUG.match(slug):
        raise SpecmillError(
            f"SPECMILL_APP_SLUG {slug[:80]!r} is not a GitHub App slug",
            hint="set it to the app's slug (lowercase letters, digits and '-'), e.g. my-app",
        )
    return slug


_DEFAULT_RETRY: Any = object()


def make_client(
    token: str, api_url: str | None = None, *, retry: Any = _DEFAULT_RETRY, **options: Any
) -> Any:
    """A PyGithub client (``github.Github``); tests pass ``retry=None`` and no pauses.

    Lazy: objects built from a URL make no request until a field is read, so a publish
    makes only the requests it needs. ``options`` go to ``Github`` as they are (e.g.
    ``seconds_between_writes=0`` in tests; the default second between writes is
    GitHub's advice against secondary rate limits).
    """
    from github import Auth, Github  # PyGithub is heavy; bot/ must stay cheap to import

    kwargs: dict[str, Any] = {} if retry is _DEFAULT_RETRY else {"retry": retry}
    return Github(
        base_url=(api_url or DEFAULT_API_URL).rstrip("/"),
        auth=Auth.Token(token),
        per_page=PER_PAGE,
        lazy=True,
        **kwargs,
        **options,
    )


def redact(text: str, secrets: Iterable[str | SecretStr | None] = ()) -> str:
    """``text`` with every known secret, and anything shaped like a GitHub token, masked."""
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value and len(value) >= 4:
            text = text.replace(value, REDACTED)
    return _TOKEN_SHAPES.sub(REDACTED, text)
