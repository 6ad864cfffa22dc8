"""The client, the Actions environment, and keeping the token out of every output."""

from __future__ import annotations

import pytest

from specmill.errors import SpecmillError
from specmill.github.client import GitHubSettings, make_client, redact
from tests.github.gh_support import TOKEN

ENV = {
    "GITHUB_TOKEN": TOKEN,
    "GITHUB_REPOSITORY": "acme/billing",
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_EVENT_PATH": "/tmp/event.json",
    "GITHUB_API_URL": "https://ghes.example.com/api/v3/",
    "GITHUB_SERVER_URL": "https://ghes.example.com",
    "GITHUB_RUN_ID": "77",
}


def test_settings_from_the_actions_environment() -> None:
    settings = GitHubSettings.from_env(ENV)
    assert settings.api_url == "https://ghes.example.com/api/v3"
    assert settings.run_url == "https://ghes.example.com/acme/billing/actions/runs/77"
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    assert settings.token.get_secret_value() == TOKEN


def test_defaults_to_github_com() -> None:
    env = {k: v for k, v in ENV.items() if not k.startswith(("GITHUB_API", "GITHUB_SERVER"))}
    settings = GitHubSettings.from_env(env)
    assert settings.api_url == "https://api.github.com"


def test_missing_variables_are_named() -> None:
    with pytest.raises(SpecmillError, match="GITHUB_TOKEN, GITHUB_EVENT_PATH not set"):
        GitHubSettings.from_env(
            {k: v for k, v in ENV.items() if k not in ("GITHUB_TOKEN", "GITHUB_EVENT_PATH")}
        )
    without_token = {k: v for k, v in ENV.items() if k != "GITHUB_TOKEN"}
    assert (
        GitHubSettings.from_env(without_token, token_required=False).token.get_secret_value() == ""
    )


def test_client_talks_to_the_configured_api() -> None:
    gh = make_client(TOKEN, "https://ghes.example.com/api/v3", retry=None)
    assert gh.requester.base_url == "https://ghes.example.com/api/v3"
    assert make_client(TOKEN).requester.base_url == "https://api.github.com"


def test_redact_known_secrets_and_token_shapes() -> None:
    assert redact(f"x {TOKEN} y") == "x *** y"
    assert redact("Bearer 0123456789abcdef", ["0123456789abcdef"]) == "Bearer ***"
    assert redact("github_pat_" + "A1" * 20) == "***"
    assert redact("nothing secret", ["", None]) == "nothing secret"
